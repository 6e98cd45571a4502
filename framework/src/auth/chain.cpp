// Chain (all items in order), `any` (one of), and building a chain from config.
#include "hookd/auth/items.hpp"

namespace hookd::auth {

std::string BuildError::str() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
         ": " + what();
}

Result Chain::check(const http::Request& request, const Context& context) const {
  for (const auto& item : items_) {
    Result r = item->check(request, context);
    if (!r.passed()) return r;
  }
  return Result::ok();
}

namespace {

// Passes when one item passes. When all fail, answers with the first item's result, so
// the challenge is that of the first method the route offers.
class AnyOf final : public Check {
 public:
  explicit AnyOf(std::vector<std::unique_ptr<Check>> items) : items_(std::move(items)) {}
  Result check(const http::Request& request, const Context& context) const override {
    Result first;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      Result r = items_[i]->check(request, context);
      if (r.passed()) return r;
      if (i == 0) first = r;
    }
    return first;
  }

 private:
  std::vector<std::unique_ptr<Check>> items_;
};

std::unique_ptr<Check> build_item(const config::AuthItemConfig& item, const BuildContext& ctx) {
  using Kind = config::AuthItemConfig::Kind;
  switch (item.kind) {
    case Kind::basic:
      return make_basic(item.basic);
    case Kind::ip_allow:
      return make_ip_allow(item.ip_allow, item.where);
    case Kind::hmac:
      return make_hmac(item.hmac, item.where);
    case Kind::signature:
      return make_signature(item.signature, item.where);
    case Kind::bearer:
      return make_bearer(item.bearer, ctx, item.where);
    case Kind::any: {
      std::vector<std::unique_ptr<Check>> items;
      for (const auto& sub : item.any) items.push_back(build_item(sub, ctx));
      return make_any(std::move(items));
    }
  }
  throw BuildError(item.where, "unknown auth item");
}

}  // namespace

std::unique_ptr<Check> make_any(std::vector<std::unique_ptr<Check>> items) {
  return std::make_unique<AnyOf>(std::move(items));
}

std::unique_ptr<Chain> build_chain(const config::AuthConfig& config, const BuildContext& context) {
  std::vector<std::unique_ptr<Check>> items;
  for (const auto& item : config.items) items.push_back(build_item(item, context));
  return std::make_unique<Chain>(std::move(items));
}

}  // namespace hookd::auth
