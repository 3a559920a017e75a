#pragma once
// Fault injection as leveldb's EnvWrapper does it: wrappers that forward
// every call to a real or fake implementation and fail the N-th call counted
// across all of them, so one unit case can crash a run at every call it
// makes and check that a re-run converges (tests/unit/test_runner.cpp).
//
// A failure comes `before` the call (nothing happened: a refused request) or
// `after` it (the call took effect, then the process died before it could
// record it: the window a kill -9 opens). Reads fail before.

#include <string>

#include "pipeline/run_env.h"
#include "release/target.h"

namespace sbpipe::test {

enum class FailWhen { before, after };

// The shared count: which call fails, and the calls seen so far.
struct FaultPlan {
  int fail_at = 0;  // 1-based; 0: never
  FailWhen when = FailWhen::before;
  int calls = 0;
  std::string failed;  // the call that failed, for messages
  // Counts a call named `what`; true when it is the one to fail.
  bool strike(const std::string& what) {
    if (++calls != fail_at) return false;
    failed = what;
    return true;
  }
  Error error() const {
    return Error(ErrorKind::transient, "injected failure at call " + std::to_string(fail_at) + " (" + failed + ")");
  }
};

class FailingTarget final : public ReleaseTarget {
public:
  FailingTarget(ReleaseTarget& inner, FaultPlan& plan) : m_inner(inner), m_plan(plan) {}

  std::string what() const override { return m_inner.what(); }
  Result<std::string> check_access() override {
    if (m_plan.strike("check_access")) return fail(m_plan.error());
    return m_inner.check_access();
  }
  Result<ReleaseInfo> open(OpenFor purpose) override {
    if (m_plan.strike("open")) return fail(m_plan.error());
    return m_inner.open(purpose);
  }
  Result<std::vector<PublishedAsset>> assets() override {
    if (m_plan.strike("assets")) return fail(m_plan.error());
    return m_inner.assets();
  }
  Status read(const PublishedAsset& asset, const std::function<Status(std::span<const char>)>& sink) override {
    if (m_plan.strike("read " + asset.name)) return fail(m_plan.error());
    return m_inner.read(asset, sink);
  }
  Status clean_up(std::vector<LocalAsset>& files) override {
    return mutate("clean_up", [&]() -> Status { return m_inner.clean_up(files); });
  }
  Result<AssetOutcome> put(LocalAsset& asset) override {
    AssetOutcome outcome{};
    auto st = mutate("put " + asset.name, [&]() -> Status {
      auto r = m_inner.put(asset);
      if (!r) return fail(r.error());
      outcome = *r;
      return {};
    });
    if (!st) return fail(st.error());
    return outcome;
  }
  Status remove(const std::string& name) override {
    return mutate("remove " + name, [&] { return m_inner.remove(name); });
  }
  Status record(const ChecksumList& sha256) override {
    return mutate("record", [&] { return m_inner.record(sha256); });
  }
  Result<ReleaseInfo> mark_released(const std::string& notes, const ReleaseFacts& facts, MakeLatest latest) override {
    ReleaseInfo info;
    auto st = mutate("mark_released", [&]() -> Status {
      auto r = m_inner.mark_released(notes, facts, latest);
      if (!r) return fail(r.error());
      info = *r;
      return {};
    });
    if (!st) return fail(st.error());
    return info;
  }

private:
  template <typename Call>
  Status mutate(const std::string& what, Call call) {
    bool strike = m_plan.strike(what);
    if (strike && m_plan.when == FailWhen::before) return fail(m_plan.error());
    Status st = call();
    if (strike) return fail(m_plan.error());
    return st;
  }

  ReleaseTarget& m_inner;
  FaultPlan& m_plan;
};

class FailingInstallers final : public InstallerRegistry {
public:
  FailingInstallers(InstallerRegistry& inner, FaultPlan& plan) : m_inner(inner), m_plan(plan) {}

  Result<PushedInstaller> push(const InstallerPush& request) override {
    bool strike = m_plan.strike("push " + request.ref);
    if (strike && m_plan.when == FailWhen::before) return fail(m_plan.error());
    auto r = m_inner.push(request);
    if (strike) return fail(m_plan.error());
    return r;
  }
  Result<ContinuityReport> continuity(const std::vector<Verdict>& verdicts, const ContinuityRequest& request) override {
    if (m_plan.strike("continuity")) return fail(m_plan.error());
    return m_inner.continuity(verdicts, request);
  }
  Status check(const std::string& ref, const RegistryAccess& access) override {
    if (m_plan.strike("check " + ref)) return fail(m_plan.error());
    return m_inner.check(ref, access);
  }
  Status check_signed(const std::string& ref, const RegistryAccess& access, const PublicKey& key) override {
    if (m_plan.strike("check signed " + ref)) return fail(m_plan.error());
    return m_inner.check_signed(ref, access, key);
  }
  Status check_push(const std::string& ref, const RegistryAccess& access) override {
    if (m_plan.strike("check_push")) return fail(m_plan.error());
    return m_inner.check_push(ref, access);
  }
  Result<ContinuityReport> previous_release(const ContinuityRequest& request) override {
    if (m_plan.strike("previous_release")) return fail(m_plan.error());
    return m_inner.previous_release(request);
  }

private:
  InstallerRegistry& m_inner;
  FaultPlan& m_plan;
};

}  // namespace sbpipe::test
