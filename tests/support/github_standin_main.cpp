// The GitHub stand-in as a program (for benchmarks and manual trials):
//   github-standin REPO TAG [TAG...]
// creates a pre-release for each TAG in REPO, prints the API URL and the token on one
// line of stdout, and serves until SIGTERM or SIGINT.

#include <csignal>
#include <cstdio>
#include <string>

#include <unistd.h>

#include "support/github_standin.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: github-standin OWNER/NAME TAG [TAG...]\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // server threads inherit the mask
  sbpipe::test::GitHubStandIn github;
  for (int i = 2; i < argc; ++i) github.create_release(argv[1], argv[i]);
  std::printf("%s %s\n", github.api_url().c_str(), github.token().c_str());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  return 0;
}
