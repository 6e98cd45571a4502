// unique_ptr for OpenSSL objects, freed with their own free function:
// OsslPtr<X509, X509_free>. Header-only; no OpenSSL include needed here.
#pragma once

#include <memory>

namespace hookd::crypto {

template <class T, void (*F)(T*)>
struct OsslFree {
  void operator()(T* p) const { F(p); }
};

template <class T, void (*F)(T*)>
using OsslPtr = std::unique_ptr<T, OsslFree<T, F>>;

}  // namespace hookd::crypto
