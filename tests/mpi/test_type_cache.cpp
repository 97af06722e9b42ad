// Type lifetime through Strider's commit/free path: the cache follows handles exactly,
// including Open MPI's reuse of freed handles, dup, and inner types freed early.
#include <catch2/catch.hpp>
#include <mpi.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/counters.hpp"
#include "exec/datatype.hpp"
#include "exec/forward.hpp"
#include "exec/p2p.hpp"
#include "exec/pack.hpp"
#include "layout_printing.hpp"
#include "types/cache.hpp"

using strider::types::Piece;
using strider::types::type_cache;

namespace {

MPI_Datatype committed_vector(int count, int blocklength, int stride) {
  MPI_Datatype t;
  MPI_Type_vector(count, blocklength, stride, MPI_DOUBLE, &t);
  REQUIRE(strider::exec::type_commit(&t) == MPI_SUCCESS);
  return t;
}

}  // namespace

TEST_CASE("a committed type is cached and forgotten when freed") {
  MPI_Datatype t = committed_vector(4, 2, 8);
  auto layout = type_cache().find(t);
  REQUIRE(layout);
  CHECK(layout->pieces == std::vector<Piece>{{0, 16, {{4, 64}}}});
  const MPI_Datatype handle = t;
  REQUIRE(strider::exec::type_free(&t) == MPI_SUCCESS);
  CHECK(t == MPI_DATATYPE_NULL);
  CHECK_FALSE(type_cache().holds(handle));
  // A layout handed out before the free stays valid for its holder.
  CHECK(layout->size == 64);
}

TEST_CASE("a reused handle gets the new type's layout") {
  // Open MPI recycles freed datatype objects; commit many types of alternating shape and
  // check each handle maps to its own layout.
  for (int round = 0; round < 50; ++round) {
    const int blocklength = 1 + round % 3;
    MPI_Datatype t = committed_vector(3, blocklength, 5);
    auto layout = type_cache().find(t);
    REQUIRE(layout);
    CHECK(layout->pieces == std::vector<Piece>{{0, 8 * blocklength, {{3, 40}}}});
    REQUIRE(strider::exec::type_free(&t) == MPI_SUCCESS);
  }
}

TEST_CASE("recommitting a type replaces nothing and keeps the layout") {
  MPI_Datatype t = committed_vector(2, 1, 3);
  REQUIRE(strider::exec::type_commit(&t) == MPI_SUCCESS);
  auto layout = type_cache().find(t);
  REQUIRE(layout);
  CHECK(layout->pieces == std::vector<Piece>{{0, 8, {{2, 24}}}});
  strider::exec::type_free(&t);
}

TEST_CASE("MPI_Type_dup has the layout of its original") {
  MPI_Datatype t = committed_vector(3, 1, 4);
  MPI_Datatype copy;
  MPI_Type_dup(t, &copy);
  REQUIRE(strider::exec::type_commit(&copy) == MPI_SUCCESS);
  auto a = type_cache().find(t);
  auto b = type_cache().find(copy);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->pieces == b->pieces);
  strider::exec::type_free(&t);
  // The dup lives on after its original is freed.
  auto still = type_cache().find(copy);
  REQUIRE(still);
  CHECK(still->pieces == std::vector<Piece>{{0, 8, {{3, 32}}}});
  strider::exec::type_free(&copy);
}

namespace {

// Packs one `type` element of a patterned buffer through Strider (exec::pack) and through the
// underlying MPI (PMPI_Pack); true when the bytes are equal and Strider's host engine ran.
bool packs_like_mpi_on_host(MPI_Datatype type, int span) {
  std::vector<unsigned char> in(static_cast<std::size_t>(span));
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<unsigned char>(i * 37 + 5);
  int size = 0;
  REQUIRE(PMPI_Pack_size(1, type, MPI_COMM_SELF, &size) == MPI_SUCCESS);
  std::vector<unsigned char> ours(static_cast<std::size_t>(size), 0), theirs(ours.size(), 1);
  const auto before = strider::core::counters().method_calls(strider::core::Method::host_pack);
  int pos = 0;
  REQUIRE(strider::exec::pack(in.data(), 1, type, ours.data(), size, &pos, MPI_COMM_SELF) == MPI_SUCCESS);
  const bool on_host =
      strider::core::counters().method_calls(strider::core::Method::host_pack) == before + 1;
  int native_pos = 0;
  REQUIRE(PMPI_Pack(in.data(), 1, type, theirs.data(), size, &native_pos, MPI_COMM_SELF) == MPI_SUCCESS);
  return on_host && pos == native_pos && ours == theirs;
}

}  // namespace

TEST_CASE("a dup of a committed type is packed by Strider without a commit of its own") {
  MPI_Datatype t = committed_vector(5, 2, 3);
  MPI_Datatype copy;
  REQUIRE(strider::exec::type_dup(t, &copy) == MPI_SUCCESS);
  REQUIRE(strider::exec::type_free(&t) == MPI_SUCCESS);  // the dup outlives its original
  auto layout = type_cache().find(copy);
  REQUIRE(layout);
  CHECK(layout->pieces == std::vector<Piece>{{0, 16, {{5, 24}}}});
  CHECK(packs_like_mpi_on_host(copy, 5 * 24));
  // A dup of the dup, and of a named type, are committed too.
  MPI_Datatype again, dbl;
  REQUIRE(strider::exec::type_dup(copy, &again) == MPI_SUCCESS);
  REQUIRE(strider::exec::type_dup(MPI_DOUBLE, &dbl) == MPI_SUCCESS);
  CHECK(packs_like_mpi_on_host(again, 5 * 24));
  auto named = type_cache().find(dbl);
  REQUIRE(named);
  CHECK(named->pieces == std::vector<Piece>{{0, 8, {}}});
  CHECK(packs_like_mpi_on_host(dbl, 8));
  // Freeing one handle forgets that handle only.
  const MPI_Datatype copy_handle = copy;
  REQUIRE(strider::exec::type_free(&copy) == MPI_SUCCESS);
  CHECK_FALSE(type_cache().holds(copy_handle));
  CHECK(type_cache().find(again));
  REQUIRE(strider::exec::type_free(&again) == MPI_SUCCESS);
  REQUIRE(strider::exec::type_free(&dbl) == MPI_SUCCESS);
}

TEST_CASE("a dup of an uncommitted type is known only once committed") {
  MPI_Datatype t;
  MPI_Type_vector(3, 1, 2, MPI_INT, &t);
  MPI_Datatype copy;
  REQUIRE(strider::exec::type_dup(t, &copy) == MPI_SUCCESS);
  CHECK_FALSE(type_cache().find(copy));
  REQUIRE(strider::exec::type_commit(&copy) == MPI_SUCCESS);
  REQUIRE(type_cache().find(copy));
  CHECK(packs_like_mpi_on_host(copy, 5 * 4));
  REQUIRE(strider::exec::type_free(&copy) == MPI_SUCCESS);
  MPI_Type_free(&t);
}

TEST_CASE("freeing the inner type keeps the outer type's layout") {
  MPI_Datatype inner = committed_vector(2, 1, 2);
  MPI_Datatype outer;
  MPI_Type_contiguous(3, inner, &outer);
  REQUIRE(strider::exec::type_free(&inner) == MPI_SUCCESS);
  REQUIRE(strider::exec::type_commit(&outer) == MPI_SUCCESS);
  auto layout = type_cache().find(outer);
  REQUIRE(layout);
  // The inner extent ends at its last double (24 bytes), so the copies are 24 bytes apart.
  CHECK(layout->pieces == std::vector<Piece>{{0, 8, {{2, 16}, {3, 24}}}});
  strider::exec::type_free(&outer);
}

TEST_CASE("named types are found without a commit") {
  auto layout = type_cache().find(MPI_INT);
  REQUIRE(layout);
  CHECK(layout->pieces == std::vector<Piece>{{0, 4, {}}});
  CHECK_FALSE(type_cache().find(MPI_DATATYPE_NULL));
}

TEST_CASE("an uncommitted derived type has no layout") {
  MPI_Datatype t;
  MPI_Type_vector(2, 1, 2, MPI_INT, &t);
  CHECK_FALSE(type_cache().find(t));
  MPI_Type_free(&t);
}

TEST_CASE("threads commit, look up and free types concurrently") {
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    WARN("MPI_THREAD_MULTIPLE not provided; skipped");
    return;
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int id = 0; id < 4; ++id) {
    threads.emplace_back([id, &wrong] {
      for (int round = 0; round < 200; ++round) {
        const int blocklength = 1 + (id + round) % 4;
        MPI_Datatype t;
        MPI_Type_vector(5, blocklength, 7, MPI_INT, &t);
        strider::exec::type_commit(&t);
        auto layout = type_cache().find(t);
        if (!layout || layout->pieces != std::vector<Piece>{{0, 4 * blocklength, {{5, 28}}}}) ++wrong;
        strider::exec::type_free(&t);
        if (!type_cache().find(MPI_DOUBLE)) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("the forwarded-call memo holds only until the next commit or free") {
  using strider::exec::forward_native;
  std::vector<double> data(64, 1.0);
  // A send of MPI_DOUBLE to this rank decides "native" the long way and fills the memo.
  REQUIRE(strider::exec::send(data.data(), 1, MPI_DOUBLE, 0, 7, MPI_COMM_SELF) == MPI_SUCCESS);
  double received = 0;
  REQUIRE(PMPI_Recv(&received, 1, MPI_DOUBLE, 0, 7, MPI_COMM_SELF, MPI_STATUS_IGNORE) == MPI_SUCCESS);
  CHECK(received == 1.0);
  CHECK(forward_native(data.data(), 1, MPI_DOUBLE));
  CHECK(forward_native(data.data(), 8, MPI_DOUBLE));  // dense: any count is one run
  CHECK_FALSE(forward_native(data.data(), 1, MPI_INT));  // another type: the long way
  // A commit anywhere in the process (a freed handle may come back as another type) ends it.
  MPI_Datatype t = committed_vector(2, 1, 2);
  CHECK_FALSE(forward_native(data.data(), 1, MPI_DOUBLE));
  REQUIRE(strider::exec::type_free(&t) == MPI_SUCCESS);

  // A type with gaps between elements is one run only for count 1.
  MPI_Datatype padded;
  MPI_Type_create_resized(MPI_DOUBLE, 0, 16, &padded);
  REQUIRE(strider::exec::type_commit(&padded) == MPI_SUCCESS);
  REQUIRE(strider::exec::send(data.data(), 1, padded, 0, 8, MPI_COMM_SELF) == MPI_SUCCESS);
  REQUIRE(PMPI_Recv(&received, 1, MPI_DOUBLE, 0, 8, MPI_COMM_SELF, MPI_STATUS_IGNORE) == MPI_SUCCESS);
  CHECK(forward_native(data.data(), 1, padded));
  CHECK_FALSE(forward_native(data.data(), 2, padded));
  REQUIRE(strider::exec::type_free(&padded) == MPI_SUCCESS);

  // A derived type the route table decided native (here: committed behind Strider's back, so
  // it has no Layout) is forwarded too, until the next commit.
  MPI_Datatype hidden;
  MPI_Type_vector(4, 1, 2, MPI_DOUBLE, &hidden);
  REQUIRE(PMPI_Type_commit(&hidden) == MPI_SUCCESS);
  CHECK_FALSE(forward_native(data.data(), 1, hidden));
  REQUIRE(strider::exec::send(data.data(), 1, hidden, 0, 9, MPI_COMM_SELF) == MPI_SUCCESS);
  std::vector<double> got(4, 0.0);
  REQUIRE(PMPI_Recv(got.data(), 4, MPI_DOUBLE, 0, 9, MPI_COMM_SELF, MPI_STATUS_IGNORE) == MPI_SUCCESS);
  CHECK(got == std::vector<double>(4, 1.0));
  CHECK(forward_native(data.data(), 1, hidden));
  CHECK_FALSE(forward_native(data.data(), 2, hidden));  // another count: decided separately
  MPI_Datatype other = committed_vector(2, 1, 2);
  CHECK_FALSE(forward_native(data.data(), 1, hidden));
  REQUIRE(strider::exec::type_free(&other) == MPI_SUCCESS);
  REQUIRE(PMPI_Type_free(&hidden) == MPI_SUCCESS);
}
