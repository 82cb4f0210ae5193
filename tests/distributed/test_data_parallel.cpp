// Run as `mpirun -np P test_data_parallel` (P a power of two, OMP_NUM_THREADS=1). Facts:
//  1. all_reduce_sum gives every rank the same bits, equal to the sum in rank order;
//  2. a sharded random stream draws rank r's part of the draw one process makes of P · n;
//  3. P ranks of N samples each train flow matching and IGN (several calls of f a step, so the
//     gradient sums over calls and shards) to the weights one process of P threads reaches at the
//     batch P · N: bit for bit in double, within float rounding in float;
//  4. each rank's weights are the same bits after training.
// Catch2 runs the same test cases in the same order on every rank (the collectives line up);
// only CHECK is used, never REQUIRE, so that no rank leaves a test case while others wait in a
// collective. mpirun exits non-zero when any rank has a failed check.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <type_traits>
#include <cstdio>
#include <string>
#include <vector>

#include "idemgen/backend/cpu.hpp"
#include "idemgen/data/toy.hpp"
#include "idemgen/distributed/data_parallel.hpp"
#include "idemgen/distributed/mpi_communicator.hpp"
#include "idemgen/models/flow_matching.hpp"
#include "idemgen/models/ign.hpp"
#include "idemgen/models/naign.hpp"
#include "idemgen/nn/mlp.hpp"

namespace {
using namespace idemgen;

distributed::mpi_communicator* world = nullptr;  // set in main, after MPI starts

template <class S>
nn::mlp<backend::cpu<S>> make_mlp(index_t cond_dim) {
  nn::mlp_options o{.input_dim = 2, .output_dim = 2, .hidden = {32, 32},
                    .act = {nn::activation::silu}};
  if (cond_dim > 0) o.cond = {.dim = cond_dim, .kind = nn::embedding_kind::fourier, .fourier_scale = 2.0, .seed = 7};
  return nn::mlp<backend::cpu<S>>(o, 11);
}
template <class S>
auto make_fm() {
  return std::make_unique<models::flow_matching<nn::mlp<backend::cpu<S>>>>(
      nn::velocity<nn::mlp<backend::cpu<S>>>(make_mlp<S>(8)), models::flow_matching_losses{}, metric::squared_l2{},
      models::generator_options{.optimizer = {.lr = 1e-2, .weight_decay = 0.0}, .seed = 5});
}
template <class S>
auto make_ign() {
  return std::make_unique<models::ign<nn::mlp<backend::cpu<S>>>>(
      make_mlp<S>(0), models::ign_losses{}, metric::l2{},
      models::generator_options{.optimizer = {.lr = 1e-2, .weight_decay = 0.0}, .seed = 5});
}

template <class S>
auto make_naign() {
  return std::make_unique<models::naign<nn::mlp<backend::cpu<S>>>>(
      make_mlp<S>(0), models::naign_losses{}, metric::l2{},
      models::generator_options{.optimizer = {.lr = 1e-2, .weight_decay = 0.0}, .seed = 5},
      coupling::nearest_generated{.candidates_per_sample = 4});
}
template <class S>
auto make_ot_naign() {
  return std::make_unique<models::ot_naign<nn::mlp<backend::cpu<S>>>>(
      make_mlp<S>(0), models::naign_losses{}, metric::l2{},
      models::generator_options{.optimizer = {.lr = 1e-2, .weight_decay = 0.0}, .seed = 5},
      coupling::minibatch_ot<>{.candidates_per_sample = 2});
}

template <class Gen>
std::vector<double> weights(Gen& gen) {
  const auto p = gen.net().parameters();
  return {p.data(), p.data() + p.size()};
}

/// K steps on P ranks (N each) against K steps of one process of P threads at P · N.
template <class S, class Make>
void check_equals_single_process(const char* method, Make make, distributed::mpi_communicator& comm,
                                 distributed::coupling_scope scope = distributed::coupling_scope::per_rank) {
  using B = backend::cpu<S>;
  constexpr index_t n = 64;
  constexpr int steps = 6;
  const int p = comm.size(), rank = comm.rank();
  auto gen = make();
  distributed::data_parallel<std::remove_reference_t<decltype(*gen)>, distributed::mpi_communicator> dp(*gen, comm, scope);
  random_stream data_stream(21);
  dp.shard(data_stream);
  data::toy_sampler<B> toy(data::toy::grid25);
  typename B::matrix x(2, n);
  for (int k = 0; k < steps; ++k) {
    toy.sample(x, data_stream);
    dp.train_step(x);
  }
  std::vector<double> mine = weights(*gen);
  // Every rank has the same weights (compare with rank 0's).
  std::vector<double> root = mine;
  comm.broadcast(root.data(), static_cast<std::int64_t>(root.size()), 0);
  INFO(method << ", rank " << rank << ": every rank ends with rank 0's weights");
  CHECK(root == mine);
  if (rank != 0) return;
  // One process, P threads (P batch shards of N columns), batch P · N, the unsharded streams.
  B::set_num_threads(p);
  auto single = make();
  random_stream single_stream(21);
  typename B::matrix big(2, n * p);
  for (int k = 0; k < steps; ++k) {
    toy.sample(big, single_stream);
    single->train_step(big);
  }
  B::set_num_threads(1);
  const std::vector<double> reference = weights(*single);
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    worst = std::max(worst, std::abs(mine[i] - reference[i]));
    scale = std::max(scale, std::abs(reference[i]));
  }
  const bool exact = std::is_same_v<S, double>;
  std::printf("%s (%s): %d ranks x %ld vs 1 process x %ld, %d steps: largest weight difference %.3g (of %.3g)\n",
              method, exact ? "double" : "float", p, static_cast<long>(n), static_cast<long>(n * p), steps, worst, scale);
  INFO(method << ": P ranks against one process of P shards (bit for bit in double, float rounding in float)");
  if (exact)
    CHECK(worst == 0.0);
  else
    CHECK(worst <= 1e-5 * scale);
  INFO("the sharded stream ends where the single process's does");
  CHECK(single->rng().next_block() == gen->rng().next_block());
}
}  // namespace

TEST_CASE("all_reduce_sum gives every rank the rank-order sum, the same bits", "[mpi]") {
  auto& comm = *world;
  const int rank = comm.rank(), p = comm.size();
  // Rank q contributes (q + 1) · 0.1 + i · 1e-3 at element i (every rank makes every rank's
  // contributions, so that the expected sum adds the same stored values).
  for (const std::int64_t n : {1L, 7L, 1000L, 100003L}) {
    std::vector<std::vector<double>> contributions(static_cast<std::size_t>(p), std::vector<double>(static_cast<std::size_t>(n)));
    for (int q = 0; q < p; ++q)
      for (std::int64_t i = 0; i < n; ++i)
        contributions[static_cast<std::size_t>(q)][static_cast<std::size_t>(i)] = (q + 1) * 0.1 + static_cast<double>(i) * 1e-3;
    std::vector<double> values = contributions[static_cast<std::size_t>(rank)];
    comm.all_reduce_sum(values.data(), n);
    std::vector<double> expected = contributions[0];
    for (int q = 1; q < p; ++q)
      for (std::int64_t i = 0; i < n; ++i)
        expected[static_cast<std::size_t>(i)] += contributions[static_cast<std::size_t>(q)][static_cast<std::size_t>(i)];
    INFO("n = " << n << ", rank " << rank);
    CHECK(values == expected);
  }
}

TEST_CASE("a sharded stream draws its rank's columns of the draw one process makes", "[mpi]") {
  const int rank = world->rank(), p = world->size();
  random_stream sharded(3), whole(3);
  sharded.set_shard(rank, p);
  backend::cpu<double>::matrix part(2, 8), all(2, 8 * p);
  backend::cpu<double>::fill_normal(part, sharded);
  backend::cpu<double>::fill_normal(all, whole);
  CHECK(sharded.next_block() == whole.next_block());
  for (index_t j = 0; j < 8; ++j)
    for (index_t r = 0; r < 2; ++r) CHECK(part(r, j) == all(r, 8 * rank + j));
}

TEST_CASE("P ranks of N train to the weights of one process of P threads at P N", "[mpi]") {
  auto& comm = *world;
  check_equals_single_process<double>("fm", make_fm<double>, comm);
  check_equals_single_process<double>("ign", make_ign<double>, comm);
  // NAIGN searches its candidates over the batch: the same as one process with the global search
  // (every rank's candidates), for IMLE's nearest candidate and for exact OT.
  check_equals_single_process<double>("naign (global search)", make_naign<double>, comm,
                                      distributed::coupling_scope::global);
  check_equals_single_process<double>("ot-naign (global solve)", make_ot_naign<double>, comm,
                                      distributed::coupling_scope::global);
  check_equals_single_process<float>("naign (global search)", make_naign<float>, comm,
                                     distributed::coupling_scope::global);
  check_equals_single_process<float>("fm", make_fm<float>, comm);
  check_equals_single_process<float>("ign", make_ign<float>, comm);
}

int main(int argc, char** argv) {
  distributed::mpi_environment environment(argc, argv);
  distributed::mpi_communicator comm;
  world = &comm;
  backend::cpu<double>::set_num_threads(1);
  const int failed = Catch::Session().run(argc, argv);
  return comm.max(failed) == 0 ? 0 : 1;
}
