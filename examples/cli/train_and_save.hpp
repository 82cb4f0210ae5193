#pragma once
// cli::train_and_save (declared in common.hpp): the loop every method shares.

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "idemgen/train/checkpoint.hpp"

namespace idemgen::cli {

template <class Generator>
train::training_report train_and_save(Generator& gen, const options& o,
                                      const std::function<void(be::const_view, be::view)>& sample,
                                      const std::vector<std::pair<std::string, std::string>>& metadata) {
  const data::toy dataset = data::parse_toy(o.dataset);
  data::toy_sampler<be> sampler(dataset);
  random_stream data_rng = random_stream(o.seed).split(1);
  std::filesystem::create_directories(o.out);
  std::printf("idemgen: training %s on %s for %ld steps (batch %ld, width %ld x %ld)\n", o.method.c_str(),
              o.dataset.c_str(), o.steps, static_cast<long>(o.batch), static_cast<long>(o.width),
              static_cast<long>(o.depth));
  // Periodic evaluation on a fixed z and fixed data, so the curve shows the model, not the draw.
  std::ofstream eval_log;
  std::optional<eval_set> eval;
  be::matrix eval_out(2, 1000);
  if (o.eval_every > 0) {
    eval.emplace(o.seed, dataset, 1000);
    eval_log.open(o.out + "/eval.csv");
    eval_log << "step,mmd2,modes_hit,modes_balanced,high_quality\n";
  }
  const auto evaluate = [&](long step) {
    sample(eval->z, eval_out);
    const auto q = measure(eval_out, eval->data, dataset);
    eval_log << step << ',' << q.mmd2;
    if (q.modes > 0)
      eval_log << ',' << q.modes_hit << ',' << q.modes_balanced << ',' << q.high_quality;
    else
      eval_log << ",,,";
    eval_log << '\n' << std::flush;
  };
  const auto report = train::train(gen, o.batch, [&](be::view x) { sampler.sample(x, data_rng); },
                                   {.steps = o.steps, .log_every = o.log_every, .log_path = o.out + "/log.csv",
                                    .evaluate_every = o.eval_every, .evaluate = evaluate});
  train::metadata meta = {{"method", o.method},
                          {"dataset", o.dataset},
                          {"width", std::to_string(o.width)},
                          {"depth", std::to_string(o.depth)},
                          {"activation", o.activation},
                          {"lr", fmt::format("{}", o.lr)},
                          {"batch", std::to_string(o.batch)},
                          {"seed", std::to_string(o.seed)}};
  for (const auto& [k, v] : metadata) meta[k] = v;
  train::save_checkpoint(o.out + "/model.safetensors", gen, meta);
  return report;
}

}  // namespace idemgen::cli
