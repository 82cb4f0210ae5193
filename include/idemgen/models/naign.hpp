#pragma once
// NAIGN (non-adversarial IGN), NAIGN eq. 11: L = L_rec + L_IMLE + L_idem, all weights 1, with the
// supplement's modified idempotence; NAIGN− (eq. 10) drops the idempotence term.
// L_IMLE is losses::pair_regression over coupling::nearest_generated (IMLE's search: each data
// point takes its nearest generated candidate, NAIGN eq. 8). With Coupling =
// coupling::minibatch_ot<> the same terms give OT-coupled NAIGN (ot_naign): a one-to-one
// assignment of candidates f(z_j) to data.

#include "idemgen/couplings/minibatch_ot.hpp"
#include "idemgen/couplings/nearest_generated.hpp"
#include "idemgen/losses/idempotence.hpp"
#include "idemgen/losses/pair_regression.hpp"
#include "idemgen/losses/reconstruction.hpp"
#include "idemgen/models/generator.hpp"

namespace idemgen::models {

using naign_losses = losses::set<losses::reconstruction, losses::pair_regression,
                                 losses::idempotence<losses::idem_kind::modified>>;
using naign_minus_losses = losses::set<losses::reconstruction, losses::pair_regression>;

template <class Net, class Metric = metric::l2, class Coupling = coupling::nearest_generated>
using naign = generator<Net, Metric, Coupling, naign_losses>;

template <class Net, class Metric = metric::l2, class Coupling = coupling::nearest_generated>
using naign_minus = generator<Net, Metric, Coupling, naign_minus_losses>;

/// OT-coupled NAIGN: NAIGN's terms over an exact one-to-one assignment of candidates to data.
template <class Net, class Metric = metric::l2, class Solver = coupling::exact>
using ot_naign = naign<Net, Metric, coupling::minibatch_ot<Solver>>;

}  // namespace idemgen::models
