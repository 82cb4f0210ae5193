#pragma once
// coupling::independent — z ~ N(0, I) drawn afresh each step, independent of the data batch
// (IGN, NAIGN; CFM's default). The step context draws it (models/step_context.hpp).

namespace idemgen::coupling {

struct independent {
  static constexpr const char* name = "independent";
};

}  // namespace idemgen::coupling
