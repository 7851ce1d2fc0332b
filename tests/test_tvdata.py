import numpy as np
import pytest
from conftest import shared_data

from facecluster.errors import InputError
from facecluster.research.tvdata import paper_subset, read_cast, read_facetracks, read_ids, read_videvents

KNOWN_DISAGREEMENTS = {"buffy_s05e01": [(4880, "giles", "riley"), (5049, "giles", "riley"), (6341, "giles", "riley")]}
EPISODES = [f"bbt_s01e0{i}" for i in range(1, 7)] + [f"buffy_s05e0{i}" for i in range(1, 7)]


@pytest.mark.parametrize("name", EPISODES)
def test_real_episode_readers_agree(name):
    root = shared_data("tvpersonid")
    ep = read_facetracks(root / "tracks" / f"{name}.facetracks.mat")
    ids = read_ids(root / "ids" / f"{name}.ids")
    assert set(ids) <= set(ep.tracker_ids.tolist()) and len(ep.frames) > 20_000
    # A few tracks of the .mat files have no line in the .ids files (mostly 'unknown' ones).
    missing = [l for t, l in zip(ep.tracker_ids, ep.labels) if int(t) not in ids]
    assert len(missing) <= 0.02 * ep.num_tracks
    assert len(ep.face_track) == len(ep.frames) == len(ep.boxes) == len(ep.times)
    assert np.all(ep.boxes[:, 2] > ep.boxes[:, 0]) and np.all(ep.boxes[:, 3] > ep.boxes[:, 1])
    disagree = []
    for tracker, label in zip(ep.tracker_ids, ep.labels):
        resolved = ids.get(int(tracker))
        if resolved is not None and not (resolved == label or (label == "unknown" and resolved.startswith("unknown"))):
            disagree.append((int(tracker), str(label), resolved))
    # The files agree but for three Buffy S05E01 tracks that the .mat calls giles and the .ids riley.
    assert disagree == KNOWN_DISAGREEMENTS.get(name, [])
    cast = read_cast(root / "castlist" / f"{name}.cast")
    main = paper_subset(ep)
    assert set(main.labels) <= {c["name"] for c in cast}
    cuts = read_videvents(root / "video" / f"{name}.videvents")
    assert len(cuts) > 100 and np.all(np.diff(cuts) > 0)
    print(f"{name}: {ep.num_tracks} tracks / {len(ep.frames)} faces; main characters {main.num_tracks} / {len(main.frames)}; "
          f"{len(ids)} .ids lines ({len(missing)} tracks without); {len(cuts)} cuts")


@pytest.mark.parametrize("name, tracks, faces", [("bbt_s01e01", 644, 41_220), ("buffy_s05e02", 568, 39_263)])
def test_benchmark_counts(name, tracks, faces):
    ep = paper_subset(read_facetracks(shared_data("tvpersonid", "tracks", f"{name}.facetracks.mat")))
    assert (ep.num_tracks, len(ep.frames)) == (tracks, faces)
    assert len(set(ep.labels)) == (5 if name.startswith("bbt") else 6)


def test_bad_files(tmp_path):
    bad = tmp_path / "x.ids"
    bad.write_text("HELLO\n1 a\n")
    with pytest.raises(InputError, match="not a CVHCI_TRACKLABELS_V1 file"):
        read_ids(bad)
    bad.write_text("CVHCI_TRACKLABELS_V1\none two three\n")
    with pytest.raises(InputError, match="line 2"):
        read_ids(bad)
    mat = tmp_path / "x.facetracks.mat"
    mat.write_text("not matlab")
    with pytest.raises(InputError, match="x.facetracks.mat"):
        read_facetracks(mat)
    cast = tmp_path / "x.cast"
    cast.write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        read_cast(cast)
