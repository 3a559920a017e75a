#include "secureboot/digest_pass.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/openssl_util.h"

namespace sbpipe {
namespace {

constexpr size_t k_chunk = 4 << 20;
constexpr size_t k_slots = 4;

const EVP_MD* digest_md(const std::string& name) {
  if (name == "sha1") return EVP_sha1();
  if (name == "sha256") return EVP_sha256();
  if (name == "sha384") return EVP_sha384();
  if (name == "sha512") return EVP_sha512();
  return nullptr;
}

bool in_file_order(const DigestTask& t) {
  for (size_t i = 1; i < t.ranges.size(); ++i)
    if (t.ranges[i].offset < t.ranges[i - 1].offset + t.ranges[i - 1].length) return false;
  return true;
}

struct Running {
  DigestTask* task;
  ossl::Ptr<EVP_MD_CTX> ctx;
  size_t range = 0;  // the first range not wholly hashed yet
  bool streamed;     // fed from the pass (else computed apart)
};

void feed_zeros(EVP_MD_CTX* ctx, uint64_t n) {
  static const std::string zeros(1 << 16, '\0');
  while (n > 0) {
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, zeros.size()));
    EVP_DigestUpdate(ctx, zeros.data(), k);
    n -= k;
  }
}

void finish(Running& r) {
  feed_zeros(r.ctx.get(), r.task->zeros);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(r.ctx.get(), out, &len);
  r.task->digest.assign(reinterpret_cast<char*>(out), len);
}

// The parts of `chunk` (at file offset `at`) the task's ranges cover, in order.
void feed(Running& r, uint64_t at, std::string_view chunk) {
  const uint64_t end = at + chunk.size();
  while (r.range < r.task->ranges.size()) {
    const ByteRange& range = r.task->ranges[r.range];
    uint64_t from = std::max(range.offset, at), to = std::min(range.offset + range.length, end);
    if (from >= end) return;  // this range starts in a later chunk
    if (from < to) EVP_DigestUpdate(r.ctx.get(), chunk.data() + (from - at), static_cast<size_t>(to - from));
    if (range.offset + range.length > end) return;  // goes on in the next chunk
    ++r.range;
  }
}

Status direct(const RandomAccess& file, Running& r) {
  std::string buffer(1 << 20, '\0');
  for (const auto& range : r.task->ranges)
    for (uint64_t done = 0; done < range.length;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), range.length - done));
      if (auto st = file.read_at(range.offset + done, std::span<char>(buffer.data(), n)); !st) return st;
      EVP_DigestUpdate(r.ctx.get(), buffer.data(), n);
      done += n;
    }
  finish(r);
  return {};
}

}  // namespace

Status run_digest_pass(const RandomAccess& file, std::vector<std::vector<DigestTask>>& groups) {
  uint64_t end = 0;
  std::vector<Running> streamed, apart;
  for (auto& group : groups)
    for (auto& task : group) {
      const EVP_MD* md = digest_md(task.algorithm);
      if (md == nullptr) return fail(ErrorKind::invalid_input, "no digest named " + task.algorithm);
      for (const auto& range : task.ranges)
        if (!range_fits(range.offset, range.length, file.size()))
          return fail(ErrorKind::invalid_input, "a hashed range leaves the file");
      Running r{&task, ossl::Ptr<EVP_MD_CTX>(EVP_MD_CTX_new()), 0, in_file_order(task)};
      EVP_DigestInit_ex(r.ctx.get(), md, nullptr);
      if (r.streamed)
        for (const auto& range : task.ranges) end = std::max(end, range.offset + range.length);
      (r.streamed ? streamed : apart).push_back(std::move(r));
    }
  const uint64_t chunks = (end + k_chunk - 1) / k_chunk;

  struct Slot {
    std::string data;
    size_t readers = 0;  // tasks still to take this chunk
  };
  std::vector<Slot> slots(k_slots);
  std::mutex mutex;
  std::condition_variable changed;
  uint64_t published = 0;  // chunks ready: [0, published)
  bool stopped = false;    // the reader failed
  // Per streamed task: the next chunk it takes, and whether a thread is at it.
  std::vector<uint64_t> next(streamed.size(), 0);
  std::vector<char> busy(streamed.size(), 0);
  std::atomic<size_t> next_apart = 0;
  std::vector<Status> results(apart.size());

  // A thread takes whichever task can go on, the one furthest behind first
  // (it holds the oldest slot): any idle core hashes, and the ring moves.
  auto worker = [&] {
    for (;;) {
      size_t t = streamed.size();
      uint64_t c = 0;
      {
        std::unique_lock lock(mutex);
        bool all_done = false;
        changed.wait(lock, [&] {
          all_done = true;
          t = streamed.size();
          for (size_t i = 0; i < streamed.size(); ++i) {
            if (next[i] < chunks) all_done = false;
            if (!busy[i] && next[i] < published && (t == streamed.size() || next[i] < next[t])) t = i;
          }
          return t < streamed.size() || all_done || stopped;
        });
        if (t == streamed.size()) break;  // all streamed, or the reader failed
        busy[t] = 1;
        c = next[t];
      }
      feed(streamed[t], c * k_chunk, slots[c % k_slots].data);
      std::lock_guard lock(mutex);
      busy[t] = 0;
      ++next[t];
      --slots[c % k_slots].readers;
      changed.notify_all();
    }
    // Then the digests that go back in the file, each by its own reads.
    for (size_t i = next_apart++; i < apart.size(); i = next_apart++) results[i] = direct(file, apart[i]);
  };
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < std::min(cores, std::max<size_t>(1, streamed.size() + apart.size())); ++i) threads.emplace_back(worker);

  Status read_status;
  for (uint64_t c = 0; c < chunks && read_status; ++c) {
    Slot& slot = slots[c % k_slots];
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return slot.readers == 0; });
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(k_chunk, end - c * k_chunk));
    slot.data.resize(n);
    read_status = file.read_at(c * k_chunk, std::span<char>(slot.data.data(), n));
    std::lock_guard lock(mutex);
    if (!read_status) {
      stopped = true;
    } else {
      slot.readers = streamed.size();
      published = c + 1;
    }
    changed.notify_all();
  }
  for (auto& t : threads) t.join();
  if (!read_status) return read_status;
  for (auto& st : results)
    if (!st) return st;
  for (auto& r : streamed) finish(r);
  return {};
}

}  // namespace sbpipe
