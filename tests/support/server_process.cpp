// ServerProcess: fork/exec of the hookd binary, log scraping for the bound ports.
#include "server_process.hpp"

#include "tls_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hookd::test {

const char* test_isolation() {
  const char* mode = std::getenv("HOOKD_TEST_ISOLATION");
  return mode != nullptr && *mode != '\0' ? mode : nullptr;
}

std::string with_test_isolation(std::string yaml) {
  const char* mode = test_isolation();
  if (mode == nullptr) return yaml;
  const std::string line = std::string("  isolation: ") + mode + "\n";
  if (yaml.starts_with("workers:\n")) return yaml.insert(9, line);
  if (const auto at = yaml.find("\nworkers:\n"); at != std::string::npos) {
    return yaml.insert(at + 10, line);
  }
  if (!yaml.empty() && yaml.back() != '\n') yaml += '\n';
  return yaml + "workers:\n" + line;
}

ServerProcess::ServerProcess(const TempDir& dir, const std::string& config_yaml, bool wait_ready)
    : dir_(dir.path().string()), log_path_(dir.file("hookd.log")) {
  dir.write("hookd.yaml", with_test_isolation(config_yaml));
  dir.write("hookd.log", "");  // before the fork: never read an earlier run's ports
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (::chdir(dir_.c_str()) != 0) ::_exit(127);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) ::_exit(127);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::execl(HOOKD_BINARY, HOOKD_BINARY, "serve", "-c", "hookd.yaml", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // The port ends the message: a space or a newline follows in the text format, a quote
  // in the JSON one.
  static const std::regex webhooks(R"(listening for webhooks on https://[^\s"]*:(\d+)[\s"])");
  static const std::regex admin(R"(admin listening on http://[^\s"]*:(\d+)[\s"])");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = log();
    std::smatch m;
    if (std::regex_search(text, m, webhooks)) port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    if (std::regex_search(text, m, admin))
      admin_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    if (port_ != 0 && admin_port_ != 0 && (!wait_ready || ready())) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("hookd exited during start:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
  throw std::runtime_error("hookd did not start within 20 s:\n" + log());
}

bool ServerProcess::ready() const {
  try {
    return http_get(admin_port_, "/readyz").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill_hard();
}

void ServerProcess::signal(int signo) {
  if (pid_ > 0) ::kill(pid_, signo);
}

int ServerProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

void ServerProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_hookd(const std::string& cwd, const std::string& args) {
  return run_command(cwd, std::string(HOOKD_BINARY) + " " + args);
}

CommandResult run_command(const std::string& cwd, const std::string& command) {
  std::string cmd = "cd '" + cwd + "' && " + command + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed");
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string basic_config(const std::string& extra_storage, const std::string& extra_limits) {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  io_threads: 2\n"
         "  shutdown_grace: 5s\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }\n"
         "  limits:\n"
         "    max_body: 64KiB\n" +
         extra_limits +
         "admin:\n"
         "  listen: 127.0.0.1:0\n"
         "storage:\n"
         "  path: hookd.db\n" +
         extra_storage +
         "routes:\n"
         "  - name: jofi\n"
         "    path: /webhooks/incoming/jofi\n"
         "    auth: none\n"
         "    event: { id: json:/id, type: json:/type }\n"
         "  - name: anon\n"
         "    path: /webhooks/anon\n"
         "    auth: none\n"
         "  - name: hdr\n"
         "    path: /webhooks/hdr\n"
         "    auth: none\n"
         "    event: { id: header:X-Event-Id, type: header:X-Event-Type }\n";
}

}  // namespace hookd::test
