#pragma once
// The program's one registry of methods: name → family, the couplings it accepts (the first is
// its default), its samplers (noised methods; the first is the default) and their default step
// count, and the help text. Every method-name decision of the program reads it; the
// compositions themselves (which generator a name builds) are in one_step_train.hpp and
// noised_train.hpp. No Boost here: nvcc compiles it too (cuda_train.cu).

#include <algorithm>
#include <string>
#include <vector>

#include "idemgen/core/errors.hpp"

namespace idemgen::cli {

/// The network a method trains: a one-step f, a denoiser D(x; σ) (EDM preconditioning, Karras
/// schedule) or a velocity v(x, t) (linear interpolant).
enum class model_family { one_step, denoiser, velocity };

struct method_entry {
  std::string name;
  model_family family = model_family::one_step;
  std::vector<std::string> couplings;  // --coupling values; the first is the default
  std::vector<std::string> samplers;   // --sampler values (noised methods, SIGN); the first is the default
  int default_sample_steps = 0;        // sampler steps when --sample-steps is 0
  std::string help;
  long default_train_steps = 4000;     // --steps when not given (the budget its results need)

  /// A σ- or t-conditioned model sampled by an ODE/SDE.
  bool noised() const { return family != model_family::one_step; }
  bool accepts_coupling(const std::string& c) const {
    return std::find(couplings.begin(), couplings.end(), c) != couplings.end();
  }
  bool accepts_sampler(const std::string& s) const {
    return std::find(samplers.begin(), samplers.end(), s) != samplers.end();
  }
};

/// "a, b or c"
inline std::string one_of(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t k = 0; k < names.size(); ++k)
    s += (k == 0 ? "" : k + 1 == names.size() ? " or " : ", ") + names[k];
  return s;
}

inline const std::vector<method_entry>& methods() {
  static const std::vector<method_entry> table = {
      {"ign", model_family::one_step, {"independent"}, {}, 0, "IGN: rec + idem + tight (Shocher et al.)"},
      {"naign", model_family::one_step, {"nearest", "ot", "sinkhorn"}, {}, 0,
       "NAIGN: rec + IMLE + modified idem (NAIGN eq. 11); --coupling ot is OT-coupled NAIGN"},
      {"naign-minus", model_family::one_step, {"nearest", "ot", "sinkhorn"}, {}, 0, "NAIGN-: rec + IMLE (NAIGN eq. 10)"},
      {"diffusion", model_family::denoiser, {"independent"}, {"heun", "euler", "stochastic", "sde"}, 18, "EDM denoiser, DSM"},
      {"cdm", model_family::denoiser, {"independent"}, {"heun", "euler", "stochastic", "sde"}, 18, "EDM + CDM's consistency term"},
      {"fm", model_family::velocity, {"independent", "ot", "sinkhorn", "reflow"}, {"euler", "midpoint"}, 100,
       "flow matching; --coupling ot is OT-CFM, --coupling reflow --from FM_CKPT is k-rectified flow"},
      {"sign", model_family::one_step, {"independent"}, {"recursive", "multistep"}, 1,
       "SIGN: rec + idem + flow (SIGN eq. 8, --teacher's Euler steps; --teacher empirical: none) + denoise "
       "(+ reg on --pairs), f generating from sigma_max z; samplers: recursive (Alg. 2), multistep (Alg. 3)"},
      {"lmm", model_family::denoiser, {"teacher"}, {"multistep", "lines-euler", "heun", "euler"}, 1,
       "LMM: lines loss (LMM eq. 3) on teacher-ODE pairs (--teacher), RAdam; --sample-steps K = K NFE", 20000},
  };
  return table;
}

inline std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const auto& m : methods()) names.push_back(m.name);
  return names;
}

/// The entry for `name`, or invalid_argument naming the accepted ones.
inline const method_entry& find_method(const std::string& name) {
  for (const auto& m : methods())
    if (m.name == name) return m;
  throw invalid_argument("idemgen", "--method", one_of(method_names()), name);
}

/// What --coupling does, for the help text: one line per method.
inline std::string coupling_help() {
  std::string s = "pairs of the step (default: the method's first): nearest (IMLE's search), ot (exact "
                  "mini-batch OT), sinkhorn (entropic OT), independent, reflow (the --from flow's ODE); accepted:";
  for (const auto& m : methods()) s += " " + m.name + ": " + one_of(m.couplings) + ";";
  return s;
}

}  // namespace idemgen::cli
