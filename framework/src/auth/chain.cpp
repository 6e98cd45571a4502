// Chain (all items in order), `any` (one of), and building a chain from config.
#include "hookd/auth/items.hpp"

namespace hookd::auth {

std::string BuildError::str() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
         ": " + what();
}

namespace {

bool any_reads_body(const std::vector<std::unique_ptr<Check>>& items) {
  for (const auto& item : items) {
    if (item->reads_body()) return true;
  }
  return false;
}

// `r` (an answer of `item`) with `keyed` and `guess` set as Result says.
Result marked(const Check& item, Result r) {
  if (!item.combines()) {
    r.keyed = r.passed() && item.reads_body();
    r.guess = r.verdict == Verdict::unauthorized && !item.reads_body();
  }
  return r;
}

// Every item must pass (with `body_only`, every item that reads the body); the first
// authenticated message id is the chain's, and the pass is keyed when one item's was.
template <auto Method>
Result all_of(const std::vector<std::unique_ptr<Check>>& items, const http::Request& request,
              const Context& context, bool body_only = false) {
  Result out;
  for (const auto& item : items) {
    if (body_only && !item->reads_body()) continue;
    Result r = marked(*item, ((*item).*Method)(request, context));
    if (!r.passed()) return r;
    if (out.message_id.empty()) out.message_id = r.message_id;
    out.keyed = out.keyed || r.keyed;
  }
  return out;
}

// Passes when one item passes (an empty list never does): that item's answer. When all
// fail, answers with the first item's result, so the challenge is that of the first method
// the route offers; a guess when any item's failure was one.
template <auto Method>
Result one_of(const std::vector<std::unique_ptr<Check>>& items, const http::Request& request,
              const Context& context) {
  Result first = Result::unauthorized("missing_credentials");
  bool guess = false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Result r = marked(*items[i], ((*items[i]).*Method)(request, context));
    if (r.passed()) return r;
    if (i == 0) first = r;
    guess = guess || r.guess;
  }
  first.guess = guess;
  return first;
}

class AnyOf final : public Check {
 public:
  explicit AnyOf(std::vector<std::unique_ptr<Check>> items) : items_(std::move(items)) {}
  Result check(const http::Request& request, const Context& context) const override {
    return one_of<&Check::check>(items_, request, context);
  }
  Result check_head(const http::Request& head, const Context& context) const override {
    return one_of<&Check::check_head>(items_, head, context);
  }
  bool reads_body() const override { return any_reads_body(items_); }
  bool combines() const override { return true; }

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

Result Chain::check(const http::Request& request, const Context& context) const {
  return all_of<&Check::check>(items_, request, context);
}

Result Chain::check_head(const http::Request& head, const Context& context) const {
  return all_of<&Check::check_head>(items_, head, context);
}

bool Chain::reads_body() const {
  return any_reads_body(items_);
}

Result Chain::check_body(const http::Request& request, const Context& context) const {
  return all_of<&Check::check>(items_, request, context, true);
}

std::unique_ptr<Check> make_any(std::vector<std::unique_ptr<Check>> items) {
  return std::make_unique<AnyOf>(std::move(items));
}

std::unique_ptr<Chain> build_chain(const config::AuthConfig& config, const BuildContext& context) {
  std::vector<std::unique_ptr<Check>> items;
  for (const auto& item : config.items) items.push_back(build_item(item, context));
  return std::make_unique<Chain>(std::move(items));
}

}  // namespace hookd::auth
