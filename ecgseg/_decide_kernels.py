"""Numba kernels of the per-event pass of the R-peak detector (:mod:`ecgseg.detector`): which events are QRS complexes.

:func:`decide` takes the candidate events of a whole record (from
``_detector_kernels.scan``) and applies Hamilton & Tompkins' rules (1986;
Hamilton's OSEA, 2002) with three changes for hard signals:

- The pre-blank (of events closer than it, the largest is kept) and the
  T-wave window follow the rhythm: a fraction of the running mean R-R,
  never longer than OSEA's 250 ms and 360 ms and never shorter than the
  refractory period, so a 300 bpm rhythm keeps every beat while a P wave
  250 ms before its R is still blanked at normal rates. The fraction is
  below one half, so a rhythm whose every other beat was missed (an R-R
  estimate twice too long) still opens the window for the missed beats.
- The threshold rises with the noise: OSEA puts it ``threshold`` of the
  way from the mean noise peak to the mean QRS peak; here that fraction
  grows with the noise ratio (the mean steepest slope of the last noise
  peaks over that of the last QRS complexes) once it passes ``rho0``, never
  past ``cap``: where noise slopes approach QRS slopes (muscle noise) the
  threshold moves towards the QRS. Slopes, not the feature, measure the
  noise: large atrial flutter waves and T waves have gentle slopes and are
  no reason to miss beats (with the feature's peaks, MIT-BIH 222 lost 26
  beats of atrial fibrillation and flutter; with slopes 16).
- Early candidates need more in noise: a candidate sooner than
  ``early`` mean R-R intervals after the last QRS faces a threshold raised
  by ``early_slope`` times the same noise ratio excess. In clean signals
  (ratio below ``rho0``) premature beats are judged as before.

Same rules as ``_kernels.py``: validated, contiguous arrays in; no
``ecgseg`` imports; no module globals read at run time.

Layouts
-------
``ipar`` (int64): 0 samples in one second, 1 initial learning span, 2 reset
span (no QRS for this long restarts the estimates), 3 refractory, 4 longest
pre-blank, 5 longest T-wave window (samples); 6 number of peaks averaged.
``fpar`` (float64): 0 threshold, 1 search-back (mean R-R intervals),
2 pre-blank and 3 T-wave window as fractions of the mean R-R, 4 ``rho0``,
5 threshold slope, 6 ``early`` (fraction of the mean R-R), 7 ``early_slope``,
8 ``cap`` (the highest threshold fraction).
Events: as in ``_detector_kernels`` (``ev_i`` columns 0 time, 4 flags with
1 = not a baseline shift, 2 = first after a gap; ``ev_f`` columns 0 peak
value, 1 largest slope).
"""

import numpy as np
from numba import njit

# As in _kernels.py: not fastmath=True, whose "nnan" flag folds NaN checks to False.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=FASTMATH)
def _push(buffer, value):
    for i in range(buffer.shape[0] - 1, 0, -1):
        buffer[i] = buffer[i - 1]
    buffer[0] = value
    return buffer.mean()


@njit(cache=True, fastmath=FASTMATH)
def _window(rrmean, fraction, shortest, longest):
    return min(max(fraction * rrmean, float(shortest)), float(longest))


@njit(cache=True, fastmath=FASTMATH)
def _fraction(nslope, qslope, threshold, rho0, slope):
    """OSEA's threshold fraction, raised by ``slope`` per unit of the noise-to-QRS slope ratio above ``rho0``."""
    rho = nslope / qslope if qslope > 0.0 else 0.0
    return threshold + slope * max(0.0, rho - rho0)


@njit(cache=True, fastmath=FASTMATH)
def _threshold(nmean, qmean, fraction, cap):
    # Never past ``cap`` of the way to the QRS mean: a QRS a little smaller than average must still pass.
    return nmean + min(fraction, cap) * (qmean - nmean)


@njit(cache=True, fastmath=FASTMATH)
def _initial(ev_i, ev_f, t_end, second, init, refractory, bins):
    """Initial QRS level (mean of the per-second maxima of the first ``init`` samples) and R-R estimate.

    The R-R estimate is the median interval between events above half that
    level in the same span, at most one second: a record that starts at
    300 bpm must not start with a pre-blank longer than its R-R.
    """
    n = ev_i.shape[0]
    t0 = ev_i[0, 0]
    span = min(init, max(t_end - t0, 1))
    n_used = min(bins.shape[0], max(1, (span + second - 1) // second))
    bins[:] = 0.0
    for e in range(n):
        b = (ev_i[e, 0] - t0) // second
        if b >= n_used:
            break
        if ev_i[e, 4] & 1:
            bins[b] = max(bins[b], ev_f[e, 0])
    level = bins[:n_used].mean()
    gaps = np.empty(n)
    m = 0
    last = -1
    for e in range(n):
        if ev_i[e, 0] - t0 >= span:
            break
        if ev_i[e, 4] & 2:
            last = -1
        if ev_i[e, 4] & 1 and ev_f[e, 0] > 0.5 * level:
            if last >= 0:
                gaps[m] = ev_i[e, 0] - last
                m += 1
            last = ev_i[e, 0]
    rr0 = float(second)
    if m >= 2:
        rr0 = min(max(np.median(gaps[:m]), float(refractory)), float(second))
    bins[:] = 0.0
    return level, rr0


@njit(cache=True, fastmath=FASTMATH)
def decide(ev_i, ev_f, t_end, ipar, fpar):
    """Classify events as QRS complexes or noise; return the indices of the QRS events, in time order.

    Hamilton & Tompkins (1986) rules as in Hamilton's OSEA (2002), with the
    changes in the module docstring: detection threshold between the means
    of the last ``n_avg`` QRS and noise peaks; a peak within the T-wave
    window of the last QRS with less than half its slope is a T wave (Pan &
    Tompkins 1985); after ``searchback`` mean R-R intervals without a QRS,
    the largest noise peak since then above half the threshold is taken;
    baseline shifts count as neither; after ``reset`` samples without a QRS
    the estimates restart from the per-second maxima. A gap keeps the
    estimates but ends the R-R interval, the search-back and the reset clock.
    """
    n = ev_i.shape[0]
    qrs = np.empty(n, dtype=np.int64)
    n_qrs = 0
    if n == 0:
        return qrs
    second, init, reset, refractory, pb_max, tw_max, n_avg = ipar[0], ipar[1], ipar[2], ipar[3], ipar[4], ipar[5], ipar[6]
    threshold, searchback, pb_frac, tw_frac = fpar[0], fpar[1], fpar[2], fpar[3]
    rho0, rho_slope, early, early_slope = fpar[4], fpar[5], fpar[6], fpar[7]
    cap = fpar[8]
    n_reset_bins = max(int(round(reset / second)), 1)
    bins = np.zeros(max(max(int(round(init / second)), 1), n_reset_bins))
    level, rr0 = _initial(ev_i, ev_f, t_end, second, init, refractory, bins)
    qbuf = np.full(n_avg, level)
    nbuf = np.zeros(n_avg)
    qsbuf = np.zeros(n_avg)
    nsbuf = np.zeros(n_avg)
    qsmean = 0.0
    nsmean = 0.0
    rbuf = np.full(n_avg, rr0)
    qmean, nmean, rrmean = level, 0.0, rr0
    last_qrs = ev_i[0, 0]
    rr_valid = False
    lastmax = 0.0
    sb = -1  # the search-back candidate
    reset_ref = last_qrs
    held = -1  # the pre-blank's candidate: the largest event since the window opened
    opened = 0  # time of the first event in the window

    for e in range(n + 1):
        now = ev_i[e, 0] if e < n else t_end
        after_gap = e < n and (ev_i[e, 4] & 2) != 0
        if held >= 0 and (e == n or after_gap or now - opened >= _window(rrmean, pb_frac, refractory, pb_max)):
            c = held
            held = -1
            t = ev_i[c, 0]
            value = ev_f[c, 0]
            # Time-driven rules up to this candidate: search-back, then restarts after long silences.
            thr = _threshold(nmean, qmean, _fraction(nsmean, qsmean, threshold, rho0, rho_slope), cap)
            if sb >= 0 and ev_f[sb, 0] > 0.5 * thr and t - 1 > last_qrs + searchback * rrmean:
                qmean = _push(qbuf, ev_f[sb, 0])
                qsmean = _push(qsbuf, ev_f[sb, 1])
                if rr_valid:
                    rrmean = _push(rbuf, float(ev_i[sb, 0] - last_qrs))
                qrs[n_qrs] = sb
                n_qrs += 1
                rr_valid, last_qrs, lastmax, reset_ref, sb = True, ev_i[sb, 0], ev_f[sb, 1], ev_i[sb, 0], -1
                bins[:] = 0.0
            while t - 1 >= reset_ref + reset:
                if bins[:n_reset_bins].max() > 0.0:  # no peak at all (a gap, a flat line): nothing to restart from
                    qbuf[:] = bins[:n_reset_bins].mean()
                    qmean = qbuf.mean()
                    nbuf[:] = 0.0
                    nmean = 0.0
                    rrmean = float(second)
                    bins[:] = 0.0
                reset_ref += reset
            b = (t - reset_ref) // second
            if 0 <= b < n_reset_bins:
                bins[b] = max(bins[b], value)
            fraction = _fraction(nsmean, qsmean, threshold, rho0, rho_slope)
            if rr_valid and t - last_qrs < early * rrmean:
                fraction = _fraction(nsmean, qsmean, fraction, rho0, early_slope)
            tw = _window(rrmean, tw_frac, refractory, tw_max)
            is_twave = t - last_qrs < tw and ev_f[c, 1] < 0.5 * lastmax
            if value > _threshold(nmean, qmean, fraction, cap) and not is_twave:
                qmean = _push(qbuf, value)
                qsmean = _push(qsbuf, ev_f[c, 1])
                if rr_valid:
                    rrmean = _push(rbuf, float(t - last_qrs))
                qrs[n_qrs] = c
                n_qrs += 1
                rr_valid, last_qrs, lastmax, reset_ref, sb = True, t, ev_f[c, 1], t, -1
                bins[:] = 0.0
            else:
                nmean = _push(nbuf, value)
                nsmean = _push(nsbuf, ev_f[c, 1])
                if t - last_qrs >= tw and (sb < 0 or value > ev_f[sb, 0]):
                    sb = c
        if e == n:
            thr = _threshold(nmean, qmean, _fraction(nsmean, qsmean, threshold, rho0, rho_slope), cap)
            if sb >= 0 and ev_f[sb, 0] > 0.5 * thr and t_end - 1 > last_qrs + searchback * rrmean:
                qrs[n_qrs] = sb
                n_qrs += 1
            break
        if after_gap:
            # No R-R across a gap, no search-back into it, and its time is no time without a QRS.
            rr_valid = False
            sb = -1
            reset_ref = now
            bins[:] = 0.0
        if not ev_i[e, 4] & 1:
            continue  # a baseline shift: neither QRS nor noise
        if held < 0:
            held = e
            opened = now
        elif ev_f[e, 0] > ev_f[held, 0]:
            # A much larger event (an R after its P wave) restarts the window, as in OSEA; a similar one (the next
            # beat of a fast rhythm) does not, or equal beats would chain and the R-R estimate never shrink.
            if ev_f[e, 0] > 1.5 * ev_f[held, 0]:
                opened = now
            held = e
    return np.sort(qrs[:n_qrs])
