#pragma once
// teachers::empirical — the teacher-free estimator of SIGN's flow term (SIGN §4, "unbiased score
// estimator"): the denoiser is replaced by the clean data point itself, D(x_σ; σ) := x. An Euler
// step from x_{t_n} = x + t_n ε to t_s then lands exactly on x + t_s ε, with the same ε:
// consistency training (Song et al. 2023) without a teacher. Only a term that knows the step's
// clean data can use it (losses::teacher_flow); it is no teachers::teacher.

namespace idemgen::teachers {

struct empirical {
  static constexpr const char* name = "empirical";
};

}  // namespace idemgen::teachers
