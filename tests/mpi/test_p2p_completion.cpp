// Every completion call over request arrays that mix Strider's requests (derived datatypes it
// packs) with native ones (contiguous data), sends with receives, and a null request: Wait,
// Waitall, Waitany, Waitsome, Test loops, Testall, Testany and Testsome, each with real
// statuses and with MPI_STATUS(ES)_IGNORE. A receive's data must be in place the moment its
// completion is reported, and each status must read as natively (MPI_Get_count with the
// user's datatype, MPI_SOURCE, MPI_TAG), also for MPI_ANY_SOURCE / MPI_ANY_TAG receives with
// several ranks sending to one. Run on 3 ranks.
#include <algorithm>
#include <memory>
#include <random>

#include "test_p2p_common.hpp"

namespace {

// Same type signature (64 doubles): the derived one is packed by Strider, the other is not.
constexpr const char* kDerived = "vector(32, 1, 2, double)";
constexpr int kDerivedCount = 2;
constexpr const char* kContiguous = "double";
constexpr int kContiguousCount = 64;

enum class Completion { wait, waitall, waitany, waitsome, test, testall, testany, testsome };
constexpr Completion kCompletions[] = {Completion::wait,    Completion::waitall, Completion::waitany,
                                       Completion::waitsome, Completion::test,    Completion::testall,
                                       Completion::testany,  Completion::testsome};

const char* name(Completion c) {
  switch (c) {
    case Completion::wait: return "MPI_Wait";
    case Completion::waitall: return "MPI_Waitall";
    case Completion::waitany: return "MPI_Waitany";
    case Completion::waitsome: return "MPI_Waitsome";
    case Completion::test: return "MPI_Test loop";
    case Completion::testall: return "MPI_Testall";
    case Completion::testany: return "MPI_Testany";
    case Completion::testsome: return "MPI_Testsome";
  }
  return "?";
}

struct Types {
  p2p::Type derived{kDerived};
  p2p::Type contiguous{kContiguous};
  const p2p::Type& pick(bool is_derived) const { return is_derived ? derived : contiguous; }
  static int count(bool is_derived) { return is_derived ? kDerivedCount : kContiguousCount; }
};

// One receive in a request array and what it must deliver.
struct Expected {
  const p2p::Type* type = nullptr;
  int count = 0;
  p2p::Buffer buffer;                // where the receive lands (garbage-filled)
  std::vector<unsigned char> bytes;  // what a native transfer leaves there
  p2p::StatusInfo status;            // what the status must read (source, tag included)
  bool done = false;
};

// The data rank `source` sends as its message `id` in `round`, delivered natively into a
// garbage-filled buffer of (`rtype`, `rcount`): the bytes and the status.
void expect(Expected& e, const Types& types, bool send_derived, int source, int tag, std::uint64_t round,
            std::uint64_t id) {
  const p2p::Type& stype = types.pick(send_derived);
  const int scount = Types::count(send_derived);
  p2p::Buffer sent(stype, scount, p2p::mix(31, static_cast<std::uint64_t>(source), round, id));
  p2p::Buffer want(*e.type, e.count, p2p::mix(32, round, id));
  const MPI_Status native = p2p::native_transfer(sent.base(), scount, stype.get(), want.base(), e.count, e.type->get());
  e.bytes = want.bytes;
  e.status = p2p::info(native, e.type->get());
  e.status.source = source;
  e.status.tag = tag;
}

// Checks a completed receive; `status` is null when the application passed *_IGNORE.
void verify(Expected& e, const MPI_Status* status, const std::string& where) {
  INFO(where << ": receive of " << e.type->text() << " x " << e.count);
  CHECK_FALSE(e.done);  // reported once
  e.done = true;
  CHECK(p2p::diff_bytes(e.buffer.bytes, e.bytes) == "");
  if (status != nullptr) CHECK(p2p::info(*status, e.type->get()) == e.status);
}

// The status MPI gives for a null or inactive request.
void check_empty(const MPI_Status& status) {
  CHECK(status.MPI_SOURCE == MPI_ANY_SOURCE);
  CHECK(status.MPI_TAG == MPI_ANY_TAG);
  int count = -1;
  MPI_Get_count(&status, MPI_BYTE, &count);
  CHECK(count == 0);
}

// Completes every request of `requests` with `how`; `receives[i]` is the receive at index i
// (null for sends and the null request).
void complete_all(Completion how, bool with_status, std::vector<MPI_Request>& requests,
                  std::vector<Expected*>& receives) {
  const int n = static_cast<int>(requests.size());
  std::vector<MPI_Status> statuses(requests.size());
  MPI_Status* const array = with_status ? statuses.data() : MPI_STATUSES_IGNORE;
  std::vector<int> indices(requests.size());
  const std::string where = std::string(name(how)) + (with_status ? "" : " (statuses ignored)");
  int reported = 0;
  auto report = [&](int index, const MPI_Status* status) {
    REQUIRE(index >= 0);
    REQUIRE(index < n);
    CHECK(requests[static_cast<std::size_t>(index)] == MPI_REQUEST_NULL);
    ++reported;
    if (receives[static_cast<std::size_t>(index)] != nullptr)
      verify(*receives[static_cast<std::size_t>(index)], with_status ? status : nullptr,
             where + " index " + std::to_string(index));
  };
  const int active = static_cast<int>(std::count_if(requests.begin(), requests.end(),
                                                    [](MPI_Request r) { return r != MPI_REQUEST_NULL; }));
  switch (how) {
    case Completion::wait:
      for (int i = 0; i < n; ++i) {
        MPI_Status status{};
        const bool was_null = requests[static_cast<std::size_t>(i)] == MPI_REQUEST_NULL;
        CHECK(MPI_Wait(&requests[static_cast<std::size_t>(i)], with_status ? &status : MPI_STATUS_IGNORE) ==
              MPI_SUCCESS);
        if (was_null) {
          if (with_status) check_empty(status);
        } else {
          report(i, &status);
        }
      }
      break;
    case Completion::waitall:
      CHECK(MPI_Waitall(n, requests.data(), array) == MPI_SUCCESS);
      for (int i = 0; i < n; ++i)
        if (receives[static_cast<std::size_t>(i)] != nullptr) report(i, &statuses[static_cast<std::size_t>(i)]);
      reported = active;
      break;
    case Completion::waitany:
      for (;;) {
        int index = -2;
        MPI_Status status{};
        CHECK(MPI_Waitany(n, requests.data(), &index, with_status ? &status : MPI_STATUS_IGNORE) == MPI_SUCCESS);
        if (index == MPI_UNDEFINED) {
          if (with_status) check_empty(status);
          break;
        }
        report(index, &status);
        if (reported > active) break;
      }
      break;
    case Completion::waitsome:
      for (;;) {
        int outcount = -2;
        CHECK(MPI_Waitsome(n, requests.data(), &outcount, indices.data(), array) == MPI_SUCCESS);
        if (outcount == MPI_UNDEFINED) break;
        CHECK(outcount > 0);
        for (int j = 0; j < outcount; ++j) report(indices[static_cast<std::size_t>(j)], &statuses[static_cast<std::size_t>(j)]);
        if (reported > active || outcount <= 0) break;
      }
      break;
    case Completion::test: {
      std::vector<bool> finished(requests.size(), false);
      int left = n;
      while (left > 0) {
        for (int i = 0; i < n; ++i) {
          if (finished[static_cast<std::size_t>(i)]) continue;
          const bool was_null = requests[static_cast<std::size_t>(i)] == MPI_REQUEST_NULL;
          int flag = 0;
          MPI_Status status{};
          CHECK(MPI_Test(&requests[static_cast<std::size_t>(i)], &flag, with_status ? &status : MPI_STATUS_IGNORE) ==
                MPI_SUCCESS);
          if (flag == 0) continue;
          finished[static_cast<std::size_t>(i)] = true;
          --left;
          if (was_null) {
            if (with_status) check_empty(status);
          } else {
            report(i, &status);
          }
        }
      }
      break;
    }
    case Completion::testall: {
      int flag = 0;
      while (flag == 0) CHECK(MPI_Testall(n, requests.data(), &flag, array) == MPI_SUCCESS);
      for (int i = 0; i < n; ++i)
        if (receives[static_cast<std::size_t>(i)] != nullptr) report(i, &statuses[static_cast<std::size_t>(i)]);
      reported = active;
      break;
    }
    case Completion::testany:
      for (;;) {
        int index = -2, flag = 0;
        MPI_Status status{};
        CHECK(MPI_Testany(n, requests.data(), &index, &flag, with_status ? &status : MPI_STATUS_IGNORE) ==
              MPI_SUCCESS);
        if (flag == 0) {
          CHECK(index == MPI_UNDEFINED);
          continue;
        }
        if (index == MPI_UNDEFINED) {
          if (with_status) check_empty(status);
          break;
        }
        report(index, &status);
        if (reported > active) break;
      }
      break;
    case Completion::testsome:
      for (;;) {
        int outcount = -2;
        CHECK(MPI_Testsome(n, requests.data(), &outcount, indices.data(), array) == MPI_SUCCESS);
        if (outcount == MPI_UNDEFINED) break;
        for (int j = 0; j < outcount; ++j) report(indices[static_cast<std::size_t>(j)], &statuses[static_cast<std::size_t>(j)]);
        if (reported > active) break;
      }
      break;
  }
  CHECK(reported == active);
  for (MPI_Request r : requests) CHECK(r == MPI_REQUEST_NULL);
  for (Expected* e : receives)
    if (e != nullptr) CHECK(e->done);
}

}  // namespace

TEST_CASE("every completion call over arrays mixing Strider and native requests") {
  const int rank = p2p::world_rank(), size = p2p::world_size();
  REQUIRE(size >= 2);
  const Types types;
  std::uint64_t round = 0;
  for (const bool with_status : {true, false}) {
    for (const Completion how : kCompletions) {
      ++round;
      INFO(name(how) << (with_status ? " with statuses" : " with MPI_STATUS(ES)_IGNORE"));
      // Per peer, four messages each way: derived->derived, derived->contiguous,
      // contiguous->derived, contiguous->contiguous (sender type -> receiver type).
      std::vector<std::unique_ptr<Expected>> expected;
      std::vector<std::unique_ptr<p2p::Buffer>> send_buffers;
      std::vector<MPI_Request> requests;
      std::vector<Expected*> receives;
      for (int peer = 0; peer < size; ++peer) {
        if (peer == rank) continue;
        for (int kind = 0; kind < 4; ++kind) {
          const bool send_derived = kind < 2, recv_derived = kind % 2 == 0;
          const int tag = 10 + kind;
          // The receive of what `peer` sends here.
          auto e = std::make_unique<Expected>();
          e->type = &types.pick(recv_derived);
          e->count = Types::count(recv_derived);
          const std::uint64_t in_id = static_cast<std::uint64_t>(rank * 16 + kind);
          e->buffer = p2p::Buffer(*e->type, e->count, p2p::mix(32, round, in_id));
          expect(*e, types, send_derived, peer, tag, round, in_id);
          MPI_Request r = MPI_REQUEST_NULL;
          CHECK(MPI_Irecv(e->buffer.base(), e->count, e->type->get(), peer, tag, MPI_COMM_WORLD, &r) == MPI_SUCCESS);
          requests.push_back(r);
          receives.push_back(e.get());
          expected.push_back(std::move(e));
          // The send of what `peer` receives.
          const p2p::Type& stype = types.pick(send_derived);
          const std::uint64_t out_id = static_cast<std::uint64_t>(peer * 16 + kind);
          send_buffers.push_back(std::make_unique<p2p::Buffer>(stype, Types::count(send_derived),
                                                                p2p::mix(31, static_cast<std::uint64_t>(rank), round, out_id)));
          CHECK(MPI_Isend(send_buffers.back()->base(), Types::count(send_derived), stype.get(), peer, tag,
                          MPI_COMM_WORLD, &r) == MPI_SUCCESS);
          requests.push_back(r);
          receives.push_back(nullptr);
        }
      }
      requests.push_back(MPI_REQUEST_NULL);
      receives.push_back(nullptr);
      // Mix the order (the same permutation for both arrays).
      std::mt19937_64 rng(p2p::mix(33, round, static_cast<std::uint64_t>(rank)));
      std::vector<std::size_t> order(requests.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      std::vector<MPI_Request> shuffled;
      std::vector<Expected*> shuffled_receives;
      for (std::size_t i : order) {
        shuffled.push_back(requests[i]);
        shuffled_receives.push_back(receives[i]);
      }
      complete_all(how, with_status, shuffled, shuffled_receives);
      PMPI_Barrier(MPI_COMM_WORLD);
    }
  }
}

TEST_CASE("Waitany and Testany over arrays of null requests") {
  std::vector<MPI_Request> requests(3, MPI_REQUEST_NULL);
  int index = -2, flag = 0;
  MPI_Status status{};
  CHECK(MPI_Waitany(3, requests.data(), &index, &status) == MPI_SUCCESS);
  CHECK(index == MPI_UNDEFINED);
  check_empty(status);
  CHECK(MPI_Testany(3, requests.data(), &index, &flag, &status) == MPI_SUCCESS);
  CHECK(flag == 1);
  CHECK(index == MPI_UNDEFINED);
  int outcount = -2;
  int indices[3];
  CHECK(MPI_Waitsome(3, requests.data(), &outcount, indices, MPI_STATUSES_IGNORE) == MPI_SUCCESS);
  CHECK(outcount == MPI_UNDEFINED);
  CHECK(MPI_Testsome(3, requests.data(), &outcount, indices, MPI_STATUSES_IGNORE) == MPI_SUCCESS);
  CHECK(outcount == MPI_UNDEFINED);
  CHECK(MPI_Waitall(0, nullptr, MPI_STATUSES_IGNORE) == MPI_SUCCESS);
  CHECK(MPI_Waitany(0, nullptr, &index, MPI_STATUS_IGNORE) == MPI_SUCCESS);
  CHECK(index == MPI_UNDEFINED);
}

TEST_CASE("MPI_ANY_SOURCE and MPI_ANY_TAG receives report each sender's source, tag and data") {
  const int rank = p2p::world_rank(), size = p2p::world_size();
  REQUIRE(size >= 3);
  const Types types;
  const int senders = size - 1;
  // Rank s sends its message as derived when s is odd, contiguous otherwise, with tag 50 + s.
  // Rank 0 receives with MPI_ANY_SOURCE and MPI_ANY_TAG, alternately
  // as derived and contiguous, completing with each completion call and with blocking MPI_Recv.
  std::uint64_t round = 100;
  for (int variant = 0; variant <= 8; ++variant) {
    ++round;
    const bool blocking = variant == 8;
    const Completion how = blocking ? Completion::wait : kCompletions[variant];
    INFO((blocking ? "blocking MPI_Recv" : name(how)));
    if (rank != 0) {
      const bool derived = rank % 2 == 1;
      p2p::Buffer data(types.pick(derived), Types::count(derived), p2p::mix(31, static_cast<std::uint64_t>(rank), round, 0));
      CHECK(MPI_Send(data.base(), Types::count(derived), types.pick(derived).get(), 0, 50 + rank, MPI_COMM_WORLD) ==
            MPI_SUCCESS);
    } else {
      // Expected results per (sender, receive type).
      std::vector<std::unique_ptr<Expected>> posted;
      std::vector<MPI_Request> requests;
      std::vector<MPI_Status> statuses(static_cast<std::size_t>(senders));
      for (int i = 0; i < senders; ++i) {
        auto e = std::make_unique<Expected>();
        const bool recv_derived = i % 2 == 0;
        e->type = &types.pick(recv_derived);
        e->count = Types::count(recv_derived);
        e->buffer = p2p::Buffer(*e->type, e->count, p2p::mix(32, round, 0));
        const int tag = MPI_ANY_TAG;
        if (blocking) {
          CHECK(MPI_Recv(e->buffer.base(), e->count, e->type->get(), MPI_ANY_SOURCE, tag, MPI_COMM_WORLD,
                         &statuses[static_cast<std::size_t>(i)]) == MPI_SUCCESS);
        } else {
          MPI_Request r = MPI_REQUEST_NULL;
          CHECK(MPI_Irecv(e->buffer.base(), e->count, e->type->get(), MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &r) ==
                MPI_SUCCESS);
          requests.push_back(r);
        }
        posted.push_back(std::move(e));
      }
      // Complete, remembering which status belongs to which receive.
      std::vector<int> order;  // receive index per reported completion
      if (!blocking) {
        const int n = senders;
        std::vector<int> indices(static_cast<std::size_t>(n));
        std::vector<MPI_Status> some(static_cast<std::size_t>(n));
        int left = n;
        while (left > 0) {
          int index = MPI_UNDEFINED, flag = 0, outcount = 0;
          MPI_Status status{};
          switch (how) {
            case Completion::wait:
              for (int i = 0; i < n; ++i) {
                CHECK(MPI_Wait(&requests[static_cast<std::size_t>(i)], &statuses[static_cast<std::size_t>(i)]) ==
                      MPI_SUCCESS);
                order.push_back(i);
              }
              left = 0;
              break;
            case Completion::waitall:
              CHECK(MPI_Waitall(n, requests.data(), statuses.data()) == MPI_SUCCESS);
              for (int i = 0; i < n; ++i) order.push_back(i);
              left = 0;
              break;
            case Completion::test:
              for (int i = 0; i < n; ++i) {
                if (std::find(order.begin(), order.end(), i) != order.end()) continue;
                CHECK(MPI_Test(&requests[static_cast<std::size_t>(i)], &flag, &status) == MPI_SUCCESS);
                if (flag != 0) {
                  statuses[static_cast<std::size_t>(i)] = status;
                  order.push_back(i);
                  --left;
                }
              }
              break;
            case Completion::testall:
              CHECK(MPI_Testall(n, requests.data(), &flag, statuses.data()) == MPI_SUCCESS);
              if (flag != 0) {
                for (int i = 0; i < n; ++i) order.push_back(i);
                left = 0;
              }
              break;
            case Completion::waitany:
            case Completion::testany:
              if (how == Completion::waitany) {
                CHECK(MPI_Waitany(n, requests.data(), &index, &status) == MPI_SUCCESS);
                flag = 1;
              } else {
                CHECK(MPI_Testany(n, requests.data(), &index, &flag, &status) == MPI_SUCCESS);
              }
              if (flag != 0) {
                REQUIRE(index != MPI_UNDEFINED);
                statuses[static_cast<std::size_t>(index)] = status;
                order.push_back(index);
                --left;
              }
              break;
            case Completion::waitsome:
            case Completion::testsome:
              if (how == Completion::waitsome)
                CHECK(MPI_Waitsome(n, requests.data(), &outcount, indices.data(), some.data()) == MPI_SUCCESS);
              else
                CHECK(MPI_Testsome(n, requests.data(), &outcount, indices.data(), some.data()) == MPI_SUCCESS);
              REQUIRE(outcount != MPI_UNDEFINED);
              for (int j = 0; j < outcount; ++j) {
                const int i = indices[static_cast<std::size_t>(j)];
                statuses[static_cast<std::size_t>(i)] = some[static_cast<std::size_t>(j)];
                order.push_back(i);
                --left;
              }
              break;
          }
        }
      } else {
        for (int i = 0; i < senders; ++i) order.push_back(i);
      }
      CHECK(static_cast<int>(order.size()) == senders);
      std::vector<bool> seen(static_cast<std::size_t>(size), false);
      for (int i : order) {
        Expected& e = *posted[static_cast<std::size_t>(i)];
        const MPI_Status& status = statuses[static_cast<std::size_t>(i)];
        const int source = status.MPI_SOURCE;
        INFO("receive " << i << " matched rank " << source);
        REQUIRE(source >= 1);
        REQUIRE(source < size);
        CHECK_FALSE(seen[static_cast<std::size_t>(source)]);
        seen[static_cast<std::size_t>(source)] = true;
        CHECK(status.MPI_TAG == 50 + source);
        expect(e, types, source % 2 == 1, source, 50 + source, round, 0);
        // expect() derived the sender's data seed from (source, round, 0): the same as sent.
        verify(e, &status, "any-source");
      }
    }
    PMPI_Barrier(MPI_COMM_WORLD);
  }
}
