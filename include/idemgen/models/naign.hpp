#pragma once
// NAIGN (non-adversarial IGN), NAIGN eq. 11: L = L_rec + L_IMLE + L_idem, all weights 1, with the
// supplement's modified idempotence; NAIGN− (eq. 10) drops the idempotence term.

#include "idemgen/losses/idempotence.hpp"
#include "idemgen/losses/imle.hpp"
#include "idemgen/losses/reconstruction.hpp"
#include "idemgen/models/generator.hpp"

namespace idemgen::models {

using naign_losses = losses::set<losses::reconstruction, losses::imle,
                                 losses::idempotence<losses::idem_kind::modified>>;
using naign_minus_losses = losses::set<losses::reconstruction, losses::imle>;

template <class Net, class Metric = metric::l2>
using naign = generator<Net, Metric, schedule::none, coupling::independent, naign_losses>;

template <class Net, class Metric = metric::l2>
using naign_minus = generator<Net, Metric, schedule::none, coupling::independent, naign_minus_losses>;

}  // namespace idemgen::models
