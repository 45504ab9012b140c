"""Numba kernels of the per-sample pass of the R-peak detector (:mod:`ecgseg.detector`), and nothing else.

:func:`scan` filters the signal, finds peaks of the QRS feature (the
band-passed signal's mean absolute value over 80 ms) and turns each into a
candidate *event*; it keeps all its state in arrays, so a record can be fed
in any number of consecutive chunks and gives the same events as in one
piece. The per-event decisions (thresholds, T waves, search-back) are in
``_decide_kernels.py``; they run on the events of the whole record (a few
per second, so they fit in memory when the signal does not).

Same rules as ``_kernels.py``: validated, contiguous arrays in; no ``ecgseg``
imports; no module globals read at run time (the state layout is spelled out
below with literal indices).

Layouts
-------
``params`` (int64): 0 lowpass, 1 highpass, 2 derivative, 3 integration box
lengths; 4 refractory (of events closer than this the larger is kept); 5 peak timeout; 6 ring mask; 7 highpass centre delay;
8 feature delay (feature peak -> R); 9 slope delay (raw -> slope);
10 band-pass delay (raw -> band-passed); 11 refine half-window;
12 baseline-shift half-window; 13 baseline-shift pair distance (samples).

``rings`` (5, ring) float64, indexed by sample number modulo ring: 0 raw
signal (primed with the first value after a gap), 1 first low-pass,
2 second low-pass, 3 band-passed, 4 slope.

``fstate`` (float64): 0-2 running sums of the two low-passes and the
high-pass mean, 3 integrated |band-pass|, 4 previous feature value, 5 running
peak maximum, 6 held (refractory) peak value, 7 integrated |slope|.
``istate`` (int64): 0 absolute index of the next sample, 1 in a gap,
2 samples since the running maximum, 3 its time, 4 refractory countdown,
5 held peak time, 6 next event follows a gap, 7 first sample after the
last gap (nothing before it is a valid raw sample).

Events: ``ev_i`` (n, 5) int64 rows (feature peak time, highest sample,
lowest sample, polarity vote +-1, flags: 1 slopes of both signs (not a
baseline shift), 2 first after a gap, 4 and 8 the highest and the lowest
sample are no peak: the window is cut by a gap, or a flat stretch); ``ev_f``
(n, 2) float64 rows (peak value, largest absolute slope).
"""

import numpy as np
from numba import njit

# As in _kernels.py: not fastmath=True, whose "nnan" flag folds NaN checks to False.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=FASTMATH)
def _grow(ev_i, ev_f):
    new_i = np.empty((2 * ev_i.shape[0], 5), dtype=np.int64)
    new_f = np.empty((2 * ev_f.shape[0], 2))
    new_i[: ev_i.shape[0]] = ev_i
    new_f[: ev_f.shape[0]] = ev_f
    return new_i, new_f


@njit(cache=True, fastmath=FASTMATH)
def _flat_before(rings, mask, lo, oldest, length, value):
    if lo - length < oldest:
        return False
    for s in range(lo - length, lo):
        if rings[0, s & mask] != value:
            return False
    return True


@njit(cache=True, fastmath=FASTMATH)
def _event(rings, params, peak_t, now, valid_from, after_gap, value, ev_i, ev_f, k):
    """Measure a confirmed feature peak in the rings and store it as event ``k``."""
    mask = params[6]
    ring = mask + 1
    oldest = max(now - ring + 1, valid_from)
    r_est = peak_t - params[8]
    # Highest and lowest raw sample near the estimated R, never before the last gap's end.
    lo = max(r_est - params[11], oldest)
    hi = min(r_est + params[11], now)
    t_up = -1
    t_down = -1
    v_up = -np.inf
    v_down = np.inf
    for s in range(lo, hi + 1):
        v = rings[0, s & mask]
        if v > v_up:
            v_up = v
            t_up = s
        if v < v_down:
            v_down = v
            t_down = s
    if t_up < 0:  # the estimate lies before the gap's end: take the first valid sample
        t_up = max(min(r_est, now), oldest)
        t_down = t_up
    # No peak: the window is cut by a gap (or the record's ends), so R may lie in the gap; or the
    # extremum ends a flat stretch (the ``params[11]`` samples before the window all equal it:
    # electrode off, amplifier on the rail).
    cut = lo != r_est - params[11] or hi != r_est + params[11]
    up_edge = cut or (t_up == lo and _flat_before(rings, mask, lo, oldest, params[11], v_up))
    down_edge = cut or (t_down == lo and _flat_before(rings, mask, lo, oldest, params[11], v_down))
    # Polarity vote: the larger band-passed excursion, up or down.
    b_hi = -np.inf
    b_lo = np.inf
    for s in range(max(lo + params[10], oldest), min(hi + params[10], now) + 1):
        v = rings[3, s & mask]
        b_hi = max(b_hi, v)
        b_lo = min(b_lo, v)
    vote = 1 if b_hi >= -b_lo else -1
    # Baseline-shift check (Hamilton 2002): a QRS has steep slopes of both signs close together.
    d_max = 0.0
    d_min = 0.0
    t_max = 0
    t_min = 0
    centre = r_est + params[9]
    for s in range(max(centre - params[12], oldest), min(centre + params[12], now) + 1):
        v = rings[4, s & mask]
        if v > d_max:
            d_max = v
            t_max = s
        elif v < d_min:
            d_min = v
            t_min = s
    both = d_max > -d_min / 8.0 and -d_min > d_max / 8.0 and abs(t_max - t_min) < params[13]
    ev_i[k, 0] = peak_t
    ev_i[k, 1] = t_up
    ev_i[k, 2] = t_down
    ev_i[k, 3] = vote
    ev_i[k, 4] = (1 if both else 0) | (2 if after_gap else 0) | (4 if up_edge else 0) | (8 if down_edge else 0)
    ev_f[k, 0] = value
    ev_f[k, 1] = max(d_max, -d_min)


@njit(cache=True, fastmath=FASTMATH)
def scan(x, params, rings, fstate, istate):
    """Feed ``x`` (the next samples of the record) through the filters and the peak finder.

    Returns the events confirmed in this chunk as ``(ev_i, ev_f)``; the
    state arrays are updated in place. A non-finite sample starts a gap,
    which confirms the peak still held: feed one NaN after the last chunk.
    """
    lp_w, hp_w, d_w, mwi_w = params[0], params[1], params[2], params[3]
    refractory, timeout, mask, hp_c = params[4], params[5], params[6], params[7]
    inv_lp = 1.0 / lp_w
    inv_hp = 1.0 / hp_w
    s1, s2, s_hp, s_mwi = fstate[0], fstate[1], fstate[2], fstate[3]
    s_sl = fstate[7]
    last_y, pmax, held = fstate[4], fstate[5], fstate[6]
    t, in_gap, since_max, pmax_t = istate[0], istate[1], istate[2], istate[3]
    pb_cnt, held_t, gap_flag, valid_from = istate[4], istate[5], istate[6], istate[7]

    ev_i = np.empty((16 + x.shape[0] // max(refractory, 1), 5), dtype=np.int64)
    ev_f = np.empty((ev_i.shape[0], 2))
    k = 0
    n = x.shape[0]
    i = 0
    while True:
        # The hot loop runs until something needs the rings or new arrays: a confirmed peak, a gap's start or end.
        stop = 0
        while i < n:
            v = x[i]
            if not np.isfinite(v):
                if not in_gap:
                    stop = 2
                    break
                i += 1
                t += 1
                continue
            if in_gap:
                stop = 3
                break
            j = t & mask
            s1 += v - rings[0, (t - lp_w) & mask]
            rings[0, j] = v
            lp1 = s1 * inv_lp
            s2 += lp1 - rings[1, (t - lp_w) & mask]
            rings[1, j] = lp1
            lp2 = s2 * inv_lp
            s_hp += lp2 - rings[2, (t - hp_w) & mask]
            rings[2, j] = lp2
            bp = rings[2, (t - hp_c) & mask] - s_hp * inv_hp
            rings[3, j] = bp
            d = bp - rings[3, (t - d_w) & mask]
            # The feature is the geometric mean of the band-passed amplitude and slope, each summed over the
            # integration window: a QRS has both, muscle noise (20-40 Hz) has steep slopes but a smaller amplitude,
            # T waves and atrial flutter waves a large amplitude but gentle slopes. With the slope alone (OSEA)
            # muscle noise at 6 dB SNR (DS1, nstdb ``ma``) outgrew 12% of the beats around it, with the
            # amplitude alone 4%, with both 7%; the amplitude alone took more T and flutter waves for beats.
            s_mwi += abs(bp) - abs(rings[3, (t - mwi_w) & mask])
            s_sl += abs(d) - abs(rings[4, (t - mwi_w) & mask])
            rings[4, j] = d
            y = np.sqrt(max(s_mwi, 0.0) * max(s_sl, 0.0))  # running sums may dip below 0 by rounding

            # Peak of the feature (Hamilton 2002): confirmed when it halves or after a timeout.
            pk = 0.0
            pk_t = 0
            if since_max > 0:
                since_max += 1
            if y > last_y and y > pmax:
                pmax = y
                pmax_t = t
                since_max = 1
            elif y < 0.5 * pmax or (since_max > timeout and pmax > 0.0):
                pk = pmax
                pk_t = pmax_t
                pmax = 0.0
                since_max = 0
            last_y = y

            # Refractory: of peaks closer than ``refractory`` (the shortest R-R), hold the largest.
            i += 1
            t += 1
            if pk > 0.0 and (pb_cnt == 0 or pk > held):
                held = pk
                held_t = pk_t
                pb_cnt = refractory
            elif pb_cnt > 0:
                pb_cnt -= 1
                if pb_cnt == 0:
                    stop = 1
                    break
        if stop == 0:
            break
        if k == ev_i.shape[0]:
            ev_i, ev_f = _grow(ev_i, ev_f)
        if stop == 1:
            _event(rings, params, held_t, t - 1, valid_from, gap_flag, held, ev_i, ev_f, k)
            k += 1
            gap_flag = 0
        elif stop == 2:
            # A gap starts: confirm what is pending, measured on the samples before it.
            if pmax > 0.0 and (pb_cnt == 0 or pmax > held):
                held = pmax
                held_t = pmax_t
                pb_cnt = 1
            if pb_cnt > 0:
                _event(rings, params, held_t, t - 1, valid_from, gap_flag, held, ev_i, ev_f, k)
                k += 1
                gap_flag = 0
            pb_cnt = 0
            pmax = 0.0
            since_max = 0
            in_gap = 1
        else:
            # A gap ends: restart the filters as if the signal had always been v (no step, no transient).
            # Only the samples the filters read back are primed, so a gap costs O(filter length), not O(ring).
            v = x[i]
            for back in range(1, max(lp_w, hp_w) + 1):
                rings[0, (t - back) & mask] = v
                rings[1, (t - back) & mask] = v
                rings[2, (t - back) & mask] = v
            for back in range(1, max(d_w, mwi_w) + 1):
                rings[3, (t - back) & mask] = 0.0
                rings[4, (t - back) & mask] = 0.0
            s1 = v * lp_w
            s2 = v * lp_w
            s_hp = v * hp_w
            s_mwi = 0.0
            s_sl = 0.0
            last_y = 0.0
            gap_flag = 1 if t > 0 else 0
            valid_from = t
            in_gap = 0

    fstate[0], fstate[1], fstate[2], fstate[3] = s1, s2, s_hp, s_mwi
    fstate[7] = s_sl
    fstate[4], fstate[5], fstate[6] = last_y, pmax, held
    istate[0], istate[1], istate[2], istate[3] = t, in_gap, since_max, pmax_t
    istate[4], istate[5], istate[6], istate[7] = pb_cnt, held_t, gap_flag, valid_from
    return ev_i[:k].copy(), ev_f[:k].copy()
