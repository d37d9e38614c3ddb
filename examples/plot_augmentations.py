"""
The 3KG augmentations, step by step
===================================

3KG trains an ECG encoder without labels by asking it to recognise two random
*views* of the same record. Its views are physiological: the 12 leads are
turned back into the heart's 3D electrical vector (the vectorcardiogram, VCG),
that vector is rotated and scaled as a different heart position or size would
turn and scale it, the result is projected back onto the 12 leads, and a
random stretch of time is hidden. This example follows one simulated record
through those steps.
"""

# %%
# A simulated 12-lead ECG
# -----------------------
# :func:`~sk3kg.datasets.make_synthetic_ecgs` simulates records whose heart is
# a 3D dipole projected onto the 12 leads. We draw one 10 s record in sinus
# rhythm, without the simulated noise so that the loops below stay readable,
# and plot it as a clinical printout: three rows of four leads, each
# column a consecutive 2.5 s of the record, and lead II over the whole 10 s
# underneath. The grid is the millimetre grid of ECG paper, at 25 mm/s and
# 10 mm/mV; the step at the start of each row is the 1 mV calibration pulse.
import matplotlib.pyplot as plt

from sk3kg.datasets import make_synthetic_ecgs
from sk3kg.plotting import plot_ecg, plot_vcg, plot_views

fs = 500
records = make_synthetic_ecgs(1, fs=fs, noise=None, random_state=2)
ecg = records.data[0]
labels = [name for name, on in zip(records.target_names, records.target[0], strict=True) if on]
plot_ecg(ecg, fs=fs, title=f"Simulated record, labels: {', '.join(labels)}")

# %%
# From 12 leads to the heart's vector
# -----------------------------------
# Eight of the 12 leads are independent (I, II, V1-V6); the inverse Dower matrix
# maps them to the Frank leads X (towards the patient's left), Y (towards the
# feet) and Z (towards the back). Over one beat the tip of that vector traces
# the small P loop, the large QRS loop and the T loop; we draw one beat. The three planes are
# drawn as clinicians draw them: the frontal plane seen from the front, the
# transverse plane from above and the sagittal plane from the patient's left.
#
# 3KG rotates this vector by up to 45 degrees about each axis. Here it is
# turned by 30 degrees about Z, the front-to-back axis, which turns the loop
# within the frontal plane as a more horizontal or vertical heart would: the
# rotated loop (red) keeps the shape and size of the original (blue).
beat = ecg[:, round(0.2 * fs) : round(1.0 * fs)]  # the first beat
plot_vcg(beat, fs=fs, angles=(0, 0, 30))

# %%
# Rotate and scale, back to 12 leads, mask
# ----------------------------------------
# :class:`~sk3kg.augment.ThreeKGAugment` does the whole chain in one batched
# matrix product per record: ECG to VCG, a random rotation (up to 45 degrees
# about each axis) and a random scaling of each axis (by a factor between 1/1.5
# and 1.5), back to the 12 leads with the Dower matrix. Then, in every lead, it
# sets a random half of the record to zero (shaded). Each view keeps the
# rhythm and the shape of the beats, but the amplitudes and polarities of the
# leads change together, as they would for another heart position; the model
# has to learn what survives, the diagnosis, and not the lead voltages.
plot_views(ecg, fs=fs, n_views=2, random_state=0)
plt.show()
