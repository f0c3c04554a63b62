// The seam between the stop study and the built-in generator (`unbox generate physics`).
// This build has no generator: the source is empty and `unbox study stop` says so.
// TODO(lead): at the merge of the generator and detector branches, return here a source that
// generates `n` events of `process` ("ttbar", "tw", "ww", "stop:M1,M2") with GeneratorOptions
// {process, seed, spin_correlation, the paper's cuts, the tail bias with compensating weights}
// into a physics::FeatureBuilder (channel stop-dilepton, the SUS-17-001 selection), and returns
// FeatureBuilder::finish().data with the weight column scaled to expected events per fb^-1.
#include "unbox/studies/stop_study.hpp"

namespace unbox::studies {

EventSource builtin_event_source() { return {}; }

}  // namespace unbox::studies
