// The one main() of every Boost.Test executable (dynamic Boost.Test library).
#define BOOST_TEST_MODULE hookd
#include <boost/test/unit_test.hpp>
