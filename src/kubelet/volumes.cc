#include "kubelet/volumes.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/base64.h"
#include "api/json_fields.h"

namespace keelson::kubelet {
namespace {

namespace json = boost::json;
using api::fields::Arr;
using api::fields::Bool;
using api::fields::Int;
using api::fields::Obj;
using api::fields::Str;
namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Whether `dir` is a mount point (its device differs from its parent's).
bool IsMountPoint(const fs::path& dir) {
  struct stat a {
  }, b{};
  if (::stat(dir.c_str(), &a) != 0) return false;
  if (::stat(dir.parent_path().c_str(), &b) != 0) return false;
  return a.st_dev != b.st_dev;
}

Status MountTmpfs(const fs::path& dir, std::optional<int64_t> size) {
  if (IsMountPoint(dir)) return Status::Ok();
  std::string opts = "mode=0755";
  if (size && *size > 0) opts += ",size=" + std::to_string(*size);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
    return InternalError("mounting a tmpfs on " + dir.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// A relative path inside a volume: no "..", not absolute, not starting with "..".
bool SafeRelative(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.rfind("..", 0) == 0) return false;
  std::stringstream parts(p);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == "..") return false;
  }
  return true;
}

// The files of a configMap or secret source (volume or projected): items, or every key.
Status KeyFiles(const std::string& kind, const std::string& name,
                const std::map<std::string, std::string>& payload, const json::object& source,
                int default_mode, bool optional, std::vector<VolumeFile>* files) {
  const json::array* items = Arr(source, "items");
  if (items == nullptr) {
    for (const auto& [k, v] : payload) files->push_back({k, v, default_mode});
    return Status::Ok();
  }
  for (const auto& iv : *items) {
    if (!iv.is_object()) continue;
    const auto& item = iv.as_object();
    std::string key = Str(&item, "key"), path = Str(&item, "path");
    auto it = payload.find(key);
    if (it == payload.end()) {
      if (optional) continue;
      return NotFoundError(kind + " " + name + " references non-existent config key: " + key);
    }
    int mode = static_cast<int>(Int(&item, "mode").value_or(default_mode));
    files->push_back({path, it->second, mode});
  }
  return Status::Ok();
}

}  // namespace

Status WriteAtomically(const std::string& dir_text, const std::vector<VolumeFile>& files) {
  const fs::path dir(dir_text);
  for (const auto& f : files) {
    if (!SafeRelative(f.path)) {
      return InvalidArgumentError("invalid path " + f.path + ": must be relative and may not " +
                                  "contain '..'");
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError("creating " + dir.string() + ": " + ec.message());
  // Unchanged payload: nothing to do.
  const fs::path data_link = dir / "..data";
  fs::path current;
  if (fs::is_symlink(data_link, ec)) current = dir / fs::read_symlink(data_link, ec);
  if (!current.empty() && fs::is_directory(current, ec)) {
    bool same = true;
    size_t count = 0;
    for (const auto& e : fs::recursive_directory_iterator(current, ec)) {
      if (e.is_regular_file()) ++count;
    }
    same = count == files.size();
    for (size_t i = 0; same && i < files.size(); ++i) {
      const fs::path p = current / files[i].path;
      struct stat st {};
      same = ::stat(p.c_str(), &st) == 0 && static_cast<int>(st.st_mode & 07777) == files[i].mode &&
             ReadAll(p) == files[i].data;
    }
    if (same) return Status::Ok();
  }
  // The new payload in a directory of its own.
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof(stamp), "..%Y_%m_%d_%H_%M_%S.", &tm);
  std::string name =
      stamp +
      std::to_string(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() %
          1000000000);
  const fs::path payload = dir / name;
  fs::create_directories(payload, ec);
  if (ec) return InternalError("creating " + payload.string() + ": " + ec.message());
  for (const auto& f : files) {
    fs::path p = payload / f.path;
    fs::create_directories(p.parent_path(), ec);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << f.data;
    out.close();
    if (!out) return InternalError("writing " + p.string());
    ::chmod(p.c_str(), static_cast<mode_t>(f.mode));
  }
  ::chmod(payload.c_str(), 0755);
  // Swap ..data in one rename.
  const fs::path tmp_link = dir / "..data_tmp";
  fs::remove(tmp_link, ec);
  fs::create_directory_symlink(name, tmp_link, ec);
  if (ec) return InternalError("linking " + tmp_link.string() + ": " + ec.message());
  if (::rename(tmp_link.c_str(), data_link.c_str()) != 0) {
    return InternalError("renaming " + tmp_link.string() + ": " + std::strerror(errno));
  }
  // Top-level names through ..data; names no longer in the payload go.
  std::set<std::string> top;
  for (const auto& f : files) top.insert(f.path.substr(0, f.path.find('/')));
  for (const auto& t : top) {
    fs::path link = dir / t;
    if (!fs::is_symlink(link, ec)) {
      fs::remove_all(link, ec);
      fs::create_symlink(fs::path("..data") / t, link, ec);
      if (ec) return InternalError("linking " + link.string() + ": " + ec.message());
    }
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename();
    if (n.rfind("..", 0) == 0) {
      if (n != "..data" && n != name && e.is_directory()) fs::remove_all(e.path(), ec);
      continue;
    }
    if (!top.contains(n)) fs::remove_all(e.path(), ec);
  }
  return Status::Ok();
}

std::string VolumeManager::VolumeDir(const std::string& uid, const std::string& volume) const {
  return pods_dir_ + "/" + uid + "/volumes/" + volume;
}

Status VolumeManager::SetUp(const api::Object& pod) {
  const json::object* spec = Obj(pod, "spec");
  const json::array* volumes = spec ? Arr(*spec, "volumes") : nullptr;
  if (volumes == nullptr) return Status::Ok();
  for (const auto& v : *volumes) {
    if (!v.is_object()) continue;
    if (Status s = SetUpVolume(pod, v.as_object()); !s.ok()) {
      return Status(s.code(), "MountVolume.SetUp failed for volume \"" +
                                  Str(&v.as_object(), "name") + "\" : " + s.message());
    }
  }
  return Status::Ok();
}

Status VolumeManager::SetUpVolume(const api::Object& pod, const json::object& volume) {
  const std::string uid(api::GetUid(pod)), ns(api::GetNamespace(pod));
  const std::string name = Str(&volume, "name");
  const fs::path dir = VolumeDir(uid, name);
  std::error_code ec;
  if (const auto* ed = Obj(volume, "emptyDir")) {
    fs::create_directories(dir, ec);
    if (ec) return InternalError(ec.message());
    if (Str(ed, "medium") == "Memory") {
      std::optional<int64_t> size;
      if (std::string limit = Str(ed, "sizeLimit"); !limit.empty()) size = Bytes(limit);
      return MountTmpfs(dir, size);
    }
    ::chmod(dir.c_str(), 0777);
    return Status::Ok();
  }
  if (const auto* hp = Obj(volume, "hostPath")) {
    const std::string path = Str(hp, "path"), type = Str(hp, "type");
    struct stat st {};
    bool exists = ::stat(path.c_str(), &st) == 0;
    auto fail = [&](const char* what) {
      return InvalidArgumentError("hostPath type check failed: " + path + " is not " + what);
    };
    if (type == "DirectoryOrCreate" && !exists) {
      fs::create_directories(path, ec);
      if (ec) return InternalError("creating " + path + ": " + ec.message());
      ::chmod(path.c_str(), 0755);
    } else if (type == "FileOrCreate" && !exists) {
      std::ofstream touch(path);
      if (!touch) return InternalError("creating " + path + ": " + std::strerror(errno));
      ::chmod(path.c_str(), 0644);
    } else if (type == "Directory" || type == "DirectoryOrCreate") {
      if (!exists || !S_ISDIR(st.st_mode)) return fail("a directory");
    } else if (type == "File" || type == "FileOrCreate") {
      if (!exists || !S_ISREG(st.st_mode)) return fail("a file");
    } else if (type == "Socket") {
      if (!exists || !S_ISSOCK(st.st_mode)) return fail("a socket file");
    } else if (type == "CharDevice") {
      if (!exists || !S_ISCHR(st.st_mode)) return fail("a character device");
    } else if (type == "BlockDevice") {
      if (!exists || !S_ISBLK(st.st_mode)) return fail("a block device");
    }
    return Status::Ok();
  }
  std::vector<VolumeFile> files;
  bool on_tmpfs = false;
  auto config_map = [&](const json::object& src, int default_mode) -> Status {
    std::string cm = Str(&src, "name");
    bool optional = Bool(&src, "optional");
    auto obj = objects_->ConfigMap(ns, cm);
    if (!obj.ok()) {
      if (obj.status().code() == StatusCode::kNotFound && optional) return Status::Ok();
      if (obj.status().code() == StatusCode::kNotFound) {
        return NotFoundError("configmap \"" + cm + "\" not found");
      }
      return obj.status();
    }
    return KeyFiles("configmap", cm, ObjectData(*obj, false), src, default_mode, optional, &files);
  };
  auto secret = [&](const json::object& src, const std::string& sn, int default_mode) -> Status {
    on_tmpfs = true;
    bool optional = Bool(&src, "optional");
    auto obj = objects_->Secret(ns, sn);
    if (!obj.ok()) {
      if (obj.status().code() == StatusCode::kNotFound && optional) return Status::Ok();
      if (obj.status().code() == StatusCode::kNotFound) {
        return NotFoundError("secret \"" + sn + "\" not found");
      }
      return obj.status();
    }
    return KeyFiles("secret", sn, ObjectData(*obj, true), src, default_mode, optional, &files);
  };
  auto downward = [&](const json::object& src, int default_mode) -> Status {
    const json::array* items = Arr(src, "items");
    if (items == nullptr) return Status::Ok();
    for (const auto& iv : *items) {
      if (!iv.is_object()) continue;
      const auto& item = iv.as_object();
      int mode = static_cast<int>(Int(&item, "mode").value_or(default_mode));
      Result<std::string> value = InvalidArgumentError("downwardAPI item without a source");
      if (const auto* f = Obj(item, "fieldRef")) {
        value =
            DownwardFieldValue(pod, Str(f, "fieldPath"), Str(Obj(pod, "status"), "podIP"), *node_);
      } else if (const auto* r = Obj(item, "resourceFieldRef")) {
        std::string container = Str(r, "containerName");
        const json::object* found = nullptr;
        if (const auto* cs = Arr(*Obj(pod, "spec"), "containers")) {
          for (const auto& c : *cs) {
            if (c.is_object() && Str(&c.as_object(), "name") == container) found = &c.as_object();
          }
        }
        if (found == nullptr) {
          return InvalidArgumentError("resourceFieldRef: no container \"" + container + "\"");
        }
        value = DownwardResourceValue(*found, *r, *node_);
      }
      if (!value.ok()) return value.status();
      files.push_back({Str(&item, "path"), *value, mode});
    }
    return Status::Ok();
  };

  if (const auto* cm = Obj(volume, "configMap")) {
    if (Status s = config_map(*cm, static_cast<int>(Int(cm, "defaultMode").value_or(0644)));
        !s.ok()) {
      return s;
    }
  } else if (const auto* sec = Obj(volume, "secret")) {
    if (Status s = secret(*sec, Str(sec, "secretName"),
                          static_cast<int>(Int(sec, "defaultMode").value_or(0644)));
        !s.ok()) {
      return s;
    }
  } else if (const auto* dw = Obj(volume, "downwardAPI")) {
    if (Status s = downward(*dw, static_cast<int>(Int(dw, "defaultMode").value_or(0644)));
        !s.ok()) {
      return s;
    }
  } else if (const auto* pr = Obj(volume, "projected")) {
    int mode = static_cast<int>(Int(pr, "defaultMode").value_or(0644));
    if (const auto* sources = Arr(*pr, "sources")) {
      for (const auto& sv : *sources) {
        if (!sv.is_object()) continue;
        const auto& src = sv.as_object();
        Status s;
        if (const auto* c = Obj(src, "configMap")) {
          s = config_map(*c, mode);
        } else if (const auto* c = Obj(src, "secret")) {
          s = secret(*c, Str(c, "name"), mode);
        } else if (const auto* c = Obj(src, "downwardAPI")) {
          s = downward(*c, mode);
        } else if (const auto* c = Obj(src, "serviceAccountToken")) {
          on_tmpfs = true;
          if (tokens_ == nullptr) return UnavailableError("no token source");
          auto token = tokens_->ServiceAccountToken(pod, Str(c, "audience"),
                                                    Int(c, "expirationSeconds").value_or(3600));
          if (!token.ok()) return token.status();
          files.push_back({Str(c, "path"), *token, mode == 0644 ? 0600 : mode});
        }
        if (!s.ok()) return s;
      }
    }
  } else {
    std::string kind = "unknown";
    for (const auto& [k, v] : volume) {
      if (k != "name") kind = std::string(k);
    }
    return InvalidArgumentError("volumes of type " + kind + " are not supported by this node");
  }
  fs::create_directories(dir, ec);
  if (ec) return InternalError(ec.message());
  if (on_tmpfs) {
    if (Status s = MountTmpfs(dir, std::nullopt); !s.ok()) return s;
  }
  return WriteAtomically(dir, files);
}

Result<std::vector<v1::Mount>> VolumeManager::Mounts(const api::Object& pod,
                                                     const json::object& container,
                                                     const EnvList& env) {
  std::vector<v1::Mount> out;
  const json::array* mounts = Arr(container, "volumeMounts");
  if (mounts == nullptr) return out;
  const std::string uid(api::GetUid(pod));
  std::map<std::string, const json::object*> volumes;
  if (const auto* vs = Arr(*Obj(pod, "spec"), "volumes")) {
    for (const auto& v : *vs) {
      if (v.is_object()) volumes[Str(&v.as_object(), "name")] = &v.as_object();
    }
  }
  for (const auto& mv : *mounts) {
    if (!mv.is_object()) continue;
    const auto& m = mv.as_object();
    std::string name = Str(&m, "name");
    auto it = volumes.find(name);
    if (it == volumes.end()) {
      return InvalidArgumentError("volumeMount " + name + ": the pod has no such volume");
    }
    const json::object& volume = *it->second;
    std::string host =
        Obj(volume, "hostPath") ? Str(Obj(volume, "hostPath"), "path") : VolumeDir(uid, name);
    bool read_only = Bool(&m, "readOnly") || Obj(volume, "configMap") || Obj(volume, "secret") ||
                     Obj(volume, "downwardAPI") || Obj(volume, "projected");
    std::string sub = Str(&m, "subPath");
    if (std::string expr = Str(&m, "subPathExpr"); !expr.empty()) {
      auto expanded = ExpandSubPathExpr(expr, env);
      if (!expanded.ok()) {
        return InvalidArgumentError("volumeMount " + name + ": subPathExpr " + expr + ": " +
                                    expanded.status().message());
      }
      sub = std::move(*expanded);
    }
    if (!sub.empty()) {
      if (!SafeRelative(sub)) {
        return InvalidArgumentError("volumeMount " + name + ": subPath " + sub +
                                    " must be relative and may not contain '..'");
      }
      fs::path p = fs::path(host) / sub;
      std::error_code ec;
      // A subPath of a configMap or secret volume resolves through ..data to its file.
      if (fs::is_symlink(p, ec)) p = fs::canonical(p, ec);
      if (!fs::exists(p, ec)) fs::create_directories(p, ec);
      host = p.string();
    }
    v1::Mount mount;
    mount.set_container_path(Str(&m, "mountPath"));
    mount.set_host_path(host);
    mount.set_readonly(read_only);
    std::string prop = Str(&m, "mountPropagation");
    mount.set_propagation(prop == "Bidirectional"     ? v1::PROPAGATION_BIDIRECTIONAL
                          : prop == "HostToContainer" ? v1::PROPAGATION_HOST_TO_CONTAINER
                                                      : v1::PROPAGATION_PRIVATE);
    out.push_back(std::move(mount));
  }
  return out;
}

Result<v1::Mount> VolumeManager::EtcHostsMount(const std::string& uid, const std::string& content) {
  const fs::path dir = fs::path(pods_dir_) / uid;
  const fs::path file = dir / "etc-hosts";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::exists(file, ec) || ReadAll(file) != content) {
    const fs::path tmp = dir / ".etc-hosts.tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << content;
      if (!out.flush()) return InternalError("writing " + tmp.string());
    }
    ::chmod(tmp.c_str(), 0644);
    fs::rename(tmp, file, ec);
    if (ec) return InternalError("writing " + file.string() + ": " + ec.message());
  }
  v1::Mount mount;
  mount.set_container_path("/etc/hosts");
  mount.set_host_path(file.string());
  return mount;
}

Status VolumeManager::TearDown(const std::string& uid) {
  const fs::path root = fs::path(pods_dir_) / uid;
  std::error_code ec;
  if (!fs::exists(root, ec)) return Status::Ok();
  std::ifstream mounts("/proc/mounts");
  std::vector<std::string> points;
  std::string dev, point, rest;
  while (mounts >> dev >> point && std::getline(mounts, rest)) {
    if (point.rfind(root.string() + "/", 0) == 0) points.push_back(point);
  }
  std::sort(points.rbegin(), points.rend());
  for (const auto& p : points) {
    if (::umount2(p.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return InternalError("unmounting " + p + ": " + std::strerror(errno));
    }
  }
  fs::remove_all(root, ec);
  if (ec) return InternalError("removing " + root.string() + ": " + ec.message());
  return Status::Ok();
}

std::vector<std::string> VolumeManager::PodsWithVolumes() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(pods_dir_, ec)) {
    if (e.is_directory()) out.push_back(e.path().filename());
  }
  return out;
}

}  // namespace keelson::kubelet
