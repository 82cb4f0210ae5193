#pragma once
// The training loop around generator::train_step: progress on stderr (a bar with ETA on a
// terminal, a status line every few seconds otherwise), a CSV log of every term every
// `log_every` steps, and a divergence guard — when a step diverges the last good snapshot
// (weights, optimiser moments, step) is restored and the learning rate halved; after
// `max_recoveries` it stops with numeric_error. A step diverges when its loss or gradient is
// non-finite, when a network rejects a non-finite value inside it, when its update leaves a
// non-finite weight, or when its loss exceeds `explode_factor` times the last good one (at least
// 1): a finite explosion (2e7 where 1 was) that would only fail later, at sampling. Optional
// hooks: `evaluate` every `evaluate_every` steps, `checkpoint` every `checkpoint_every`; `stop`
// (set by a signal handler) ends training after the current step.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "idemgen/core/errors.hpp"

namespace idemgen::train {

struct trainer_options {
  long steps = 5000;
  long log_every = 100;
  std::string log_path;          // CSV; empty = no log
  bool progress = true;          // a bar on a terminal, else a status line every status_seconds
  double status_seconds = 10;
  long snapshot_every = 250;     // last-good state for the divergence guard
  int max_recoveries = 5;
  double lr_backoff = 0.5;
  double explode_factor = 1e4;   // |loss| > factor × max(|last good loss|, 1) diverges; 0 = off
  long evaluate_every = 0;                 // 0 = never; otherwise calls `evaluate(step)`
  std::function<void(long)> evaluate = {};  // a hook (e.g. MMD² and coverage into eval.csv)
  long checkpoint_every = 0;                  // 0 = never; otherwise calls `checkpoint(step)`
  std::function<void(long)> checkpoint = {};  // before the last step (the caller saves the end)
  bool append_log = false;                    // a resumed run: add rows to log_path, no header
  // Set (by a signal handler) to end training after the current step: the report says
  // `interrupted`, and the generator holds that step's complete state.
  const volatile std::sig_atomic_t* stop = nullptr;
};

struct training_report {
  long steps = 0;
  int recoveries = 0;
  double seconds = 0;
  double coupling_seconds = 0;   // of `seconds`, the coupling's (generator::coupling_seconds)
  std::vector<double> last_terms;
  bool interrupted = false;      // ended early by `stop`
};

namespace detail {
/// The loop itself: `step()` makes one optimisation step (drawing its own data) and returns the
/// generator's step_result; `coupling_seconds()` the coupling's time so far.
template <class Generator, class Step, class CouplingSeconds>
training_report run(Generator& gen, Step&& step, CouplingSeconds&& coupling_seconds, const trainer_options& opt) {
  using B = typename Generator::backend_type;
  idemgen::detail::require_option(opt.steps > 0 && opt.log_every > 0 && opt.snapshot_every > 0,
                                  "train::train", "steps/log_every/snapshot_every", "> 0",
                                  fmt::format("{}/{}/{}", opt.steps, opt.log_every, opt.snapshot_every));
  auto& net = gen.net();
  struct snapshot {
    typename B::matrix params;
    std::vector<typename B::matrix> state;
    long steps = 0, optimizer_steps = 0;
    double loss = 0;  // |total| of the step the snapshot was taken after (0: none yet)
  } good;
  const auto take_snapshot = [&] {
    good.params.resize(net.parameter_count(), 1);
    B::copy(net.parameters(), good.params);
    auto named = gen.optimizer().named_state();
    good.state.resize(named.size());
    for (std::size_t k = 0; k < named.size(); ++k) {
      good.state[k].resize(named[k].second.rows(), 1);
      B::copy(named[k].second, good.state[k]);
    }
    good.steps = gen.steps();
    good.optimizer_steps = gen.optimizer().steps();
  };
  const auto restore = [&] {
    B::copy(good.params, net.parameters());
    auto named = gen.optimizer().named_state();
    // A snapshot taken before the optimiser's first step holds no state (it is allocated then):
    // its state is zeros, and so must the restored one be — the moments of the steps since,
    // the diverged one's among them, would otherwise survive the restore.
    for (std::size_t k = 0; k < named.size(); ++k) {
      if (k < good.state.size()) B::copy(good.state[k], named[k].second);
      else B::fill(named[k].second, typename B::scalar(0));
    }
    gen.set_steps(good.steps);
    gen.optimizer().set_steps(good.optimizer_steps);
  };

  std::ofstream log;
  if (!opt.log_path.empty()) {
    log.open(opt.log_path, opt.append_log ? std::ios::app : std::ios::trunc);
    if (!log) throw io_error("train::train", "log_path", "a writable file", opt.log_path);
    if (!opt.append_log) {
      log << "step";
      for (const char* n : Generator::term_names) log << ',' << n;
      log << ",total,grad_norm,lr,steps_per_s\n";
    }
  }
  const bool draw = opt.progress && isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  const long first_step = gen.steps();  // > 0 for a resumed run: steps/s counts this run's steps
  const double coupling_seconds_before = coupling_seconds();
  auto last_draw = start;
  training_report report;
  take_snapshot();
  while (gen.steps() < opt.steps) {
    const long attempted = gen.steps() + 1;
    typename Generator::step_result r;
    std::string diverged;  // why this step diverged; empty: it did not
    try {
      r = step();
      if (!r.finite) diverged = "a non-finite loss or gradient";
      // A non-finite weight shows in the next step's loss or input check; scanning the weights
      // is needed only where the state is kept before that next step: a snapshot, a checkpoint
      // and the last step.
      else if (const long s = gen.steps();
               (s % opt.snapshot_every == 0 || s >= opt.steps || (opt.checkpoint_every > 0 && s % opt.checkpoint_every == 0)) &&
               !B::all_finite(net.parameters()))
        diverged = "a non-finite weight after the update";
      else if (opt.explode_factor > 0 && std::abs(r.total) > opt.explode_factor * std::max(good.loss, 1.0))
        diverged = fmt::format("a loss of {:.3g} after {:.3g}", r.total, good.loss);
    } catch (const numeric_error& e) {  // a non-finite value met inside the step (a network's input check)
      diverged = e.what();
    }
    if (!diverged.empty()) {
      restore();  // also before giving up: the generator is left at its last good state
      if (++report.recoveries > opt.max_recoveries)
        throw numeric_error("train::train", "loss", "a finite, bounded loss",
                            fmt::format("{} at step {} after {} recoveries (lr scale {}): lower the learning rate "
                                        "or clip the gradient norm",
                                        diverged, attempted, opt.max_recoveries, gen.lr_scale()));
      gen.set_lr_scale(gen.lr_scale() * opt.lr_backoff);
      std::fprintf(stderr, "%sdivergence at step %ld (%s): restored step %ld, lr scale now %g\n", draw ? "\n" : "",
                   attempted, diverged.c_str(), good.steps, gen.lr_scale());
      continue;
    }
    const long step = gen.steps();
    if (good.loss == 0) good.loss = std::abs(r.total);  // the first step's loss, until a snapshot
    if (step % opt.snapshot_every == 0) {
      take_snapshot();
      good.loss = std::abs(r.total);
    }
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (log.is_open() && (step % opt.log_every == 0 || step == opt.steps)) {
      log << step;
      for (double t : r.terms) log << ',' << t;
      log << ',' << r.total << ',' << r.grad_norm << ',' << gen.learning_rate() << ','
          << (step - first_step) / std::max(elapsed, 1e-9) << '\n' << std::flush;  // readable while training runs
    }
    // On a terminal a bar redrawn 5 times a second; otherwise (a log file, a batch job) one
    // status line every status_seconds.
    const double since_draw = std::chrono::duration<double>(now - last_draw).count();
    if (opt.progress && (since_draw > (draw ? 0.2 : opt.status_seconds) || (draw && step == opt.steps))) {
      last_draw = now;
      const double rate = (step - first_step) / std::max(elapsed, 1e-9);
      std::string terms;
      for (std::size_t k = 0; k < r.terms.size(); ++k)
        terms += fmt::format(" {} {:.4g}", Generator::term_names[k], r.terms[k]);
      const std::string timing = fmt::format("{:.1f} steps/s, {:.0f} s, ETA {:.0f} s", rate, elapsed,
                                             static_cast<double>(opt.steps - step) / std::max(rate, 1e-9));
      if (draw) {
        const int width = 24, filled = static_cast<int>(width * step / opt.steps);
        std::string bar(static_cast<std::size_t>(filled), '=');
        bar.resize(width, ' ');
        std::fprintf(stderr, "\r%6ld/%ld [%s]%s | %s   ", step, opt.steps, bar.c_str(), terms.c_str(), timing.c_str());
      } else {
        std::fprintf(stderr, "step %ld/%ld (%.0f%%)%s | %s\n", step, opt.steps, 100.0 * step / opt.steps,
                     terms.c_str(), timing.c_str());
      }
    }
    if (opt.evaluate && opt.evaluate_every > 0 && (step % opt.evaluate_every == 0 || step == opt.steps))
      opt.evaluate(step);
    report.last_terms.assign(r.terms.begin(), r.terms.end());
    if (opt.stop && *opt.stop) {
      report.interrupted = true;
      break;
    }
    if (opt.checkpoint && opt.checkpoint_every > 0 && step % opt.checkpoint_every == 0 && step < opt.steps)
      opt.checkpoint(step);
  }
  if (draw) std::fprintf(stderr, "\n");
  report.steps = gen.steps();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.coupling_seconds = coupling_seconds() - coupling_seconds_before;
  return report;
}
}  // namespace detail

/// next_batch(view) fills one data batch; it is called once per step.
template <class Generator, class NextBatch>
training_report train(Generator& gen, index_t batch, NextBatch&& next_batch, const trainer_options& opt) {
  using B = typename Generator::backend_type;
  typename B::matrix x(gen.net().input_dim(), batch);
  return detail::run(
      gen,
      [&] {
        next_batch(typename B::view(x));
        return gen.train_step(x);
      },
      [&] { return gen.coupling_seconds(); }, opt);
}

/// Data-parallel training (distributed::data_parallel): next_batch fills this rank's part of the
/// batch (from a sharded data stream), the steps all-reduce, and a stop request (opt.stop) on any
/// rank stops every rank after the same step (one more small all-reduce a step). Give rank 0 the
/// log, hooks and progress; the other ranks none.
template <class DataParallel, class NextBatch>
training_report train_data_parallel(DataParallel& dp, index_t batch, NextBatch&& next_batch, trainer_options opt) {
  auto& gen = dp.generator();
  using B = typename std::remove_reference_t<decltype(gen)>::backend_type;
  typename B::matrix x(gen.net().input_dim(), batch);
  const volatile std::sig_atomic_t* local_stop = opt.stop;
  volatile std::sig_atomic_t agreed_stop = 0;
  opt.stop = &agreed_stop;
  return detail::run(
      gen,
      [&] {
        next_batch(typename B::view(x));
        const auto r = dp.train_step(x);
        agreed_stop = dp.any(local_stop != nullptr && *local_stop != 0) ? 1 : 0;
        return r;
      },
      [&] { return gen.coupling_seconds(); }, opt);
}

/// Training on pairs from a coupling::ot_pool: when the pool is empty, next_batch(view) fills an
/// OT batch (pool.ot_batch() columns) and the pool solves it; every step trains on the pool's
/// next SGD batch (generator::train_step_on_pairs). The report's coupling_seconds is the
/// pool's solve time. A retried step (the divergence guard) takes the pool's next batch.
template <class Generator, class Pool, class NextBatch>
training_report train_pooled(Generator& gen, Pool& pool, NextBatch&& next_batch, const trainer_options& opt) {
  using B = typename Generator::backend_type;
  typename B::matrix x(gen.net().input_dim(), pool.ot_batch());
  return detail::run(
      gen,
      [&] {
        if (pool.empty()) {
          next_batch(typename B::view(x));
          pool.refill(gen, x);
        }
        const auto pairs = pool.next();
        return gen.train_step_on_pairs(pairs.source, pairs.target);
      },
      [&] { return pool.seconds(); }, opt);
}

}  // namespace idemgen::train
