#include "apiserver/strategies/kind_strategy.h"

#include "api/validation.h"

namespace keelson::apiserver::strategies {

KindStrategy::KindStrategy(const api::ResourceInfo& r, KindSpec spec)
    : Strategy(r), spec_(std::move(spec)) {}

std::vector<std::string> KindStrategy::NameErrors(std::string_view name, bool prefix) const {
  return spec_.name_rule ? spec_.name_rule(name, prefix) : api::NameIsDNSSubdomain(name, prefix);
}

api::FieldCauses KindStrategy::Run(const std::vector<Rule>& rules, const api::Object& obj,
                                   const api::Object* old) const {
  api::FieldCauses out;
  validation::Check c{resource(), obj, old, &out, spec_.events_v1};
  for (Rule rule : rules) rule(c);
  return out;
}

api::FieldCauses KindStrategy::Validate(const api::Object& obj) const {
  api::FieldCauses out = Strategy::Validate(obj);
  for (auto& c : Run(spec_.rules, obj, nullptr)) out.push_back(std::move(c));
  return out;
}

api::FieldCauses KindStrategy::ValidateUpdate(const api::Object& obj,
                                              const api::Object& old) const {
  api::FieldCauses out = Strategy::ValidateUpdate(obj, old);
  for (auto& c : Run(spec_.rules, obj, &old)) out.push_back(std::move(c));
  return out;
}

api::FieldCauses KindStrategy::ValidateStatusUpdate(const api::Object& obj,
                                                    const api::Object& old) const {
  return Run(spec_.status_rules, obj, &old);
}

const TablePrinter& KindStrategy::Printer() const {
  return spec_.printer ? *spec_.printer : *printers::Default();
}

}  // namespace keelson::apiserver::strategies
