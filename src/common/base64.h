// Base64 (RFC 4648): the standard alphabet with padding, as Kubernetes writes bytes fields and
// Secret data, and the URL-safe alphabet without padding, as JSON Web Tokens use it.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace keelson {

std::string Base64Encode(std::string_view bytes);
// Trailing padding is optional; a lone trailing character is ignored. InvalidArgument on
// characters outside the alphabet.
Result<std::string> Base64Decode(std::string_view text);

std::string Base64UrlEncode(std::string_view bytes);
// InvalidArgument on characters outside the alphabet, on padding, and on a lone trailing
// character.
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace keelson
