#pragma once
// The analytic teacher of a toy dataset that is a Gaussian mixture (grid25, 8gaussians): the
// exact denoiser D*(x; σ) of its equal-weight isotropic components (evaluation/
// mixture_denoiser.hpp, log-sum-exp weights). std::nullopt for a dataset that is no mixture.

#include <optional>
#include <vector>

#include "idemgen/data/toy.hpp"
#include "idemgen/evaluation/mixture_denoiser.hpp"

namespace idemgen::teachers {

template <numeric_backend B>
std::optional<evaluation::mixture_denoiser<B>> exact_denoiser(data::toy dataset) {
  const auto mix = data::mixture_of(dataset);
  if (!mix) return std::nullopt;
  std::vector<double> means, stddevs, weights;
  for (const auto& c : mix->centres) {
    means.insert(means.end(), {c[0], c[1]});
    stddevs.insert(stddevs.end(), {mix->stddev, mix->stddev});
    weights.push_back(1.0);
  }
  return evaluation::mixture_denoiser<B>(means, stddevs, weights, 2);
}

}  // namespace idemgen::teachers
