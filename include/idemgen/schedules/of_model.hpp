#pragma once
// schedule::of_model — "the model's own schedule": the default of the terms that use noise
// levels (dsm, fm, consistency). Such a term holds its schedule as a value; this tag makes it
// the one the model already carries (nn::denoiser's σ preconditioning, nn::velocity's
// interpolant), so that a diffusion model states σ_data, P_mean and P_std once. A term that
// trains an unconditioned network over noise levels (SIGN's flow term) holds a schedule of its
// own instead (schedule::karras{...}).

namespace idemgen::schedule {

struct of_model {
  static constexpr const char* name = "of_model";
  bool operator==(const of_model&) const = default;
};

}  // namespace idemgen::schedule
