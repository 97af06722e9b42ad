#pragma once
// The performance model's file IO and installation (plan/model.hpp stays pure): where the file
// lives, this machine's fingerprint, atomic writes for strider-measure, and the load at start.
//
// Every rank reads the file itself; none broadcasts it. A collective inside MPI_Init would
// hang or mismatch the application's own collectives whenever some rank of MPI_COMM_WORLD
// does not run Strider (a peer without Strider or with STRIDER_DISABLE=1, which the wire
// format supports) or when Strider starts lazily inside a non-collective call. The file is a
// few tens of KiB read once per process; on very large jobs point STRIDER_CACHE_DIR at
// node-local storage. Each rank also checks the fingerprint against its own node.
#include <functional>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "plan/model.hpp"

namespace strider::exec {

// STRIDER_CACHE_DIR, else $XDG_CACHE_HOME/strider, else $HOME/.cache/strider; empty when
// none of them is set.
std::string model_directory(const core::Config& config);
// model_directory()/model.json, or empty.
std::string model_path(const core::Config& config);

// This machine: the CPU model from /proc/cpuinfo and the first line of
// MPI_Get_library_version. The GPU is not queried (loading must not touch CUDA), so it is
// left unknown and not compared.
std::string cpu_model();
std::string mpi_library_version();
plan::Fingerprint local_fingerprint();

// The whole file, or nullopt when it cannot be opened.
std::optional<std::string> read_file(const std::string& path);
// Replaces `path` atomically: a unique temporary file in the same directory, fsync, rename
// (creating missing directories). Readers see the old or the new file, never a mix.
// Returns an empty string on success, else the error.
std::string write_file_atomically(const std::string& path, const std::string& text);
// Read-modify-write of `path` under an exclusive flock on `path`.lock, so that concurrent
// merges (two strider-measure runs) serialise; `update` gets the current text (nullopt: no
// file) and returns the new one. Returns an empty string on success, else the error.
std::string update_file_locked(const std::string& path,
                               const std::function<std::string(const std::optional<std::string>&)>& update);

// Reads and validates the model at start, installs it (or the defaults) for plan and logs at
// most one warning when the defaults are used: on rank 0 (or an unknown rank) at warn level,
// on the others at debug level. `rank` also prefixes STRIDER_EXPLAIN lines. Also records the
// job's node layout for peer_locality().
plan::LoadResult load_model(int rank);
// Loads from an explicit path with an explicit fingerprint (tests and tools).
plan::LoadResult load_model_from(const std::string& path, const plan::Fingerprint& local, int rank);
// Warnings load_model has logged at warn level in this process (tests).
int model_warnings();

// The locality Strider assumes for every peer, from the job's shape (a per-peer node map would
// need a collective at start, see above): intra-node when all ranks share one node (Open
// MPI's OMPI_COMM_WORLD_LOCAL_SIZE equals OMPI_COMM_WORLD_SIZE, or MPICH's MPI_LOCALNRANKS
// equals PMI_SIZE) or when the launcher says nothing (singletons), inter-node otherwise.
plan::Locality job_locality();

// Prints one STRIDER_EXPLAIN line ("strider[R] explain: ...") to stderr in one write, once per
// distinct text (layouts differing only in their offsets decide alike).
void print_explanation(const std::string& text);

}  // namespace strider::exec
