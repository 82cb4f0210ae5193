#pragma once
// IGN (Shocher et al. 2023, as restated in SIGN §2.2 and NAIGN §2.2):
// L = w_rec L_rec + w_idem L_idem + w_tight L_tight, with the IGN idempotence routing.
// Weights (1, 1, 0.1) by default: NAIGN's IGN baseline for 2-D (NAIGN §4).

#include "idemgen/losses/idempotence.hpp"
#include "idemgen/losses/reconstruction.hpp"
#include "idemgen/losses/tightness.hpp"
#include "idemgen/models/generator.hpp"

namespace idemgen::models {

using ign_losses = losses::set<losses::reconstruction, losses::idempotence<losses::idem_kind::ign>,
                               losses::tightness>;

template <class Net, class Metric = metric::l2>
using ign = generator<Net, Metric, coupling::independent, ign_losses>;

}  // namespace idemgen::models
