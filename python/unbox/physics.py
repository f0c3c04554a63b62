"""unbox.physics: mT2 over arrays, stop-dilepton features of HepMC3/LHE files, and the
built-in LO generator (t tbar, tW, WW, stops) with its detector and selection."""

import numpy as _np

from . import _unbox

__all__ = ["mt2", "features", "generate"]


def mt2(a_pt, a_phi, a_m, b_pt, b_phi, b_m, met, met_phi, mchi_a=0.0, mchi_b=0.0, precision=1e-10):
    """The stransverse mass mT2 (GeV) of two visible systems a, b (pT, phi, mass) and the
    missing transverse momentum (met, met_phi), for invisible masses mchi_a, mchi_b.

    Vectorized: the eight arguments broadcast against each other (scalars or arrays);
    returns a float64 array of the broadcast shape (a float for all-scalar input).
    """
    args = _np.broadcast_arrays(*[_np.asarray(v, dtype=_np.float64) for v in
                                  (a_pt, a_phi, a_m, b_pt, b_phi, b_m, met, met_phi)])
    shape = args[0].shape
    flat = [_np.ascontiguousarray(a).reshape(-1) for a in args]
    out = _unbox.mt2(*flat, float(mchi_a), float(mchi_b), float(precision)).reshape(shape)
    return float(out) if out.ndim == 0 else out


def features(path, **options):
    """Stop-dilepton inputs of a HepMC3 or LHE file (`unbox physics features`): the 19
    inputs of the paper and extras, after the detector and the selection.

    Options: channel, label (0/1 column), weight (constant), detector (cms, objects, truth),
    flavour (parton, ghost), jet_energy_scale, seed (detector), selection (sus-17-001,
    sus-19-011, paper, generator, none), max_events, jet_r, iso_cone, objects, quiet.
    Returns an unbox.Result: .to_pandas() the feature table, .table() the cut-flow.
    """
    from . import Result
    options.setdefault("quiet", True)
    return Result(_unbox.features(str(path), options))


def generate(process, events=10000, as_frame=True, out=None, progress=True, **options):
    """Events of the built-in LO generator (`unbox generate physics PROCESS`).

    process: ttbar, tw, ww or stop:M_STOP,M_LSP (GeV). Options: seed, truth (add truth
    columns), no_cuts, weighted, no_spin_correlation, taus, no_isr, parton_level, sqrt_s,
    scale, stop_top_polarization, bias_met, bias_power, bias_floor, detector (cms, truth),
    detector_seed, selection (cms, paper, generator, none), label.

    Without out: the feature table after detector and selection (`--features`), as a
    pandas DataFrame (as_frame=False: the unbox.Result, whose arrays are views).
    out="events.hepmc" (.hepmc, .hepmc3, .hepmc.txt): the events themselves as HepMC3, as the
    command line writes them (the same seed gives the same file); returns the unbox.Result
    with the summary (events, streams, summed weight, normalization; .table() the CLI's
    text). out="features.h5" (or .csv, .npz, ...): the feature table is also written there.
    progress: True (tqdm, else the library's bar), False, or a callable(done, total).
    """
    from . import Result, _progress_hook
    hook, close = _progress_hook("generate", progress)
    if out is not None:
        options["out"] = str(out)
    try:
        r = Result(_unbox.generate(str(process), int(events), options, hook))
    finally:
        if close is not None:
            close()
    if "out" in options and r.to_dict().get("streams") is not None:
        return r
    return r.to_pandas("data") if as_frame else r
