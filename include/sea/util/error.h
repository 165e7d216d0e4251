// error.h — the one exception type SEA throws for bad input, and the check macro that raises it.
//
// Errors name what is at fault (file, tensor, config key, shape, value) so that a user can fix it
// without reading our code. Internal invariants use TORCH_INTERNAL_ASSERT instead; sea::Error is for
// anything a user can cause. Apps catch sea::Error at the top, print the message and exit non-zero.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace sea {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: sea::message("tensor '", name, "' has shape ", shape).
template <typename... Parts>
std::string message(const Parts&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  return os.str();
}

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(message(parts...));
}

}  // namespace sea

// SEA_CHECK(cond, "what went wrong: ", value, ...) throws sea::Error with the joined message.
#define SEA_CHECK(cond, ...)     \
  do {                           \
    if (!(cond)) {               \
      ::sea::fail(__VA_ARGS__);  \
    }                            \
  } while (false)
