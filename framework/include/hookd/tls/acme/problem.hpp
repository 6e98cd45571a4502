// RFC 7807 problem documents as ACME servers send them (RFC 8555 §6.7).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookd::tls::acme {

struct Problem {
  std::string type;        // "urn:ietf:params:acme:error:badNonce"
  std::string detail;      // the CA's words
  int status = 0;          // the `status` member, 0 when absent
  std::string identifier;  // "dns:hooks.example.com" for a subproblem, else empty
  std::vector<Problem> subproblems;

  // "badNonce" etc.: the type without the ACME URN prefix (the whole type otherwise).
  std::string short_type() const;
  // One line for the log: "TYPE: DETAIL" plus "; IDENTIFIER: TYPE: DETAIL" per subproblem.
  std::string summary() const;
};

// nullopt when `json` is not an object with a string `type`.
std::optional<Problem> parse_problem(std::string_view json);

}  // namespace hookd::tls::acme
