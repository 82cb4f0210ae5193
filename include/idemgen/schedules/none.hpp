#pragma once
// schedule::none — no noise levels: the network takes no conditioning row (IGN, NAIGN, SIGN's f).

namespace idemgen::schedule {

struct none {
  static constexpr const char* name = "none";
};

}  // namespace idemgen::schedule
