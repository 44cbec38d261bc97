"""Where each dataset's archives come from: pinned URLs, published md5s, unpack targets.

md5 values are the ones published with (or long used for) each archive — pysaliency pins the
same ones. Where none is published (`md5=None`) the first download's sha256 is recorded in
the checksum lock file and verified ever after. `into` is the folder (relative to the dataset
root) the archive is unpacked into; the archives carry their own top folders.
"""

from __future__ import annotations

from dataclasses import dataclass

GDRIVE = "https://drive.usercontent.google.com/download?id={}&export=download&confirm=t"


@dataclass(frozen=True)
class Archive:
    """One downloadable archive of a dataset."""

    filename: str
    url: str
    md5: str | None = None
    into: str = "."
    optional: bool = False  # fetched only with include_optional (not needed by the loader)
    note: str = ""


MIT1003_BASE = "http://people.csail.mit.edu/tjudd/WherePeopleLook"
# Dropbox share used by MSI-Net's download script (alexanderkroner/saliency, download.py);
# no checksum is published, so the first download's sha256 goes into the lock file.
FIWI_URL = "https://www.dropbox.com/s/30nxg2uwd1wpb80/webpage_dataset.zip?dl=1"

SOURCES: dict[str, tuple[Archive, ...]] = {
    "mit1003": (
        Archive("ALLSTIMULI.zip", f"{MIT1003_BASE}/ALLSTIMULI.zip",
                md5="0d7df8b954ecba69b6796e77b9afe4b6"),
        Archive("ALLFIXATIONMAPS.zip", f"{MIT1003_BASE}/ALLFIXATIONMAPS.zip"),
        Archive("DATA.zip", f"{MIT1003_BASE}/DATA.zip", md5="ea19d74ad0a0144428c53e9d75c2d71c",
                optional=True, note="raw eye-tracking data per observer; not read by salloss"),
    ),
    "cat2000": (
        Archive("trainSet.zip", "http://saliency.mit.edu/trainSet.zip",
                md5="56ad5c77e6c8f72ed9ef2901628d6e48"),
        Archive("testSet.zip", "http://saliency.mit.edu/testSet.zip",
                md5="903ec668df2e5a8470aef9d8654e7985", optional=True,
                note="test stimuli only (split='test'), for benchmark export"),
    ),
    "fiwi": (
        Archive("webpage_dataset.zip", FIWI_URL,
                note="Dropbox link from MSI-Net's download script; override with --url if moved"),
    ),
    "salicon": (
        Archive("salicon_images.zip", GDRIVE.format("1g8j-hTT-51IG1UFwP0xTGhLdgIUCW5e5"),
                md5="eb2a1bb706633d1b31fc2e01422c5757", note="images/{train,val,test}"),
        Archive("salicon_fixations_2017.zip", GDRIVE.format("1P-jeZXCsjoKO79OhFUgnj6FGcyvmLDPj"),
                md5="462b70f4f9e8ea446ac628e46cea8d3d", into="fixations",
                note="LSUN 2017 fixations, {train,val}/*.mat"),
        Archive("salicon_maps_2017.zip", GDRIVE.format("1PnO7szbdub1559LfjYHMy65EDC4VhJC8"),
                into="maps", note="LSUN 2017 density maps, {train,val}/*.png"),
    ),
    "mit300": (
        Archive("BenchmarkIMAGES.zip", "http://saliency.mit.edu/BenchmarkIMAGES.zip",
                md5="03ed32bdf5e4289950cd28df89451260"),
    ),
}
