#include "secureboot/digest_pass.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/openssl_util.h"

namespace sbpipe {
namespace {

constexpr size_t k_chunk = 4 << 20;
constexpr size_t k_slots = 4;

const EVP_MD* md_named(const std::string& name) {
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
  std::vector<std::vector<Running>> running(groups.size());
  for (size_t g = 0; g < groups.size(); ++g)
    for (auto& task : groups[g]) {
      const EVP_MD* md = md_named(task.algorithm);
      if (md == nullptr) return fail(ErrorKind::invalid_input, "no digest named " + task.algorithm);
      for (const auto& range : task.ranges)
        if (!range_fits(range.offset, range.length, file.size()))
          return fail(ErrorKind::invalid_input, "a hashed range leaves the file");
      Running r{&task, ossl::Ptr<EVP_MD_CTX>(EVP_MD_CTX_new()), 0, in_file_order(task)};
      EVP_DigestInit_ex(r.ctx.get(), md, nullptr);
      if (r.streamed)
        for (const auto& range : task.ranges) end = std::max(end, range.offset + range.length);
      running[g].push_back(std::move(r));
    }
  const uint64_t chunks = (end + k_chunk - 1) / k_chunk;

  struct Slot {
    std::string data;
    uint64_t chunk = 0;
    size_t readers = 0;  // groups still to take this chunk
  };
  std::vector<Slot> slots(k_slots);
  std::mutex mutex;
  std::condition_variable changed;
  uint64_t published = 0;  // chunks ready: [0, published)
  bool stopped = false;
  std::vector<Status> results(groups.size());

  auto worker = [&](size_t g) {
    for (uint64_t c = 0; c < chunks; ++c) {
      Slot* slot;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return published > c || stopped; });
        if (published <= c) return;  // the reader failed
        slot = &slots[c % k_slots];
      }
      for (auto& r : running[g])
        if (r.streamed) feed(r, c * k_chunk, slot->data);
      std::lock_guard lock(mutex);
      if (--slot->readers == 0) changed.notify_all();
    }
    for (auto& r : running[g]) {
      if (r.streamed) {
        finish(r);
      } else if (auto st = direct(file, r); !st) {
        results[g] = st;
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t g = 0; g < groups.size(); ++g) threads.emplace_back(worker, g);

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
      slot.chunk = c;
      slot.readers = groups.size();
      published = c + 1;
    }
    changed.notify_all();
  }
  for (auto& t : threads) t.join();
  if (!read_status) return read_status;
  for (auto& st : results)
    if (!st) return st;
  return {};
}

}  // namespace sbpipe
