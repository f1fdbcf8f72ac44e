"""The school finder's ordering and the server-drawn map's geometry."""

from __future__ import annotations

from gateway.portal.maps import HEIGHT, WIDTH, school_map
from services.allocation.finder import centre, ranked


def school(code: str, lat: float | None, lon: float | None, *wards: str) -> dict[str, object]:
    return {
        "code": code,
        "name": code,
        "capacity": 30,
        "catchment": list(wards),
        "lat": lat,
        "lon": lon,
    }


def test_nearest_first_unknown_points_last_and_catchment_marked() -> None:
    home = (21.0, 105.8)
    rows = ranked(
        home,
        "W1",
        [
            school("FAR", 21.05, 105.8, "W1"),
            school("NEAR", 21.001, 105.8),
            school("NOWHERE", None, None, "W1"),
        ],
    )
    assert [r["code"] for r in rows] == ["NEAR", "FAR", "NOWHERE"]
    assert [r["in_catchment"] for r in rows] == [False, True, True]
    assert 100 <= rows[0]["distance_m"] <= 120 and rows[2]["distance_m"] is None
    # 0.05 degrees of latitude: about 5.6 km.
    assert 5_500 <= rows[1]["distance_m"] <= 5_600


def test_the_ward_point_is_the_centre_of_its_schools() -> None:
    assert centre([(21.0, 105.0), (21.2, 105.4)]) == (21.1, 105.2)
    assert centre([]) is None
    assert ranked(None, "W1", [school("A", 21.0, 105.0)])[0]["distance_m"] is None


def test_the_map_puts_every_point_inside_the_box_and_numbers_as_the_list() -> None:
    found = {
        "point": {"lat": 21.0, "lon": 105.8},
        "schools": ranked(
            (21.0, 105.8),
            "W1",
            [
                school("A", 21.001, 105.801, "W1"),
                school("B", None, None),
                school("C", 20.998, 105.798),
            ],
        ),
    }
    found["schools"] = [found["schools"][0], found["schools"][2], found["schools"][1]]
    drawn = school_map(found)
    assert drawn is not None
    assert [(s["n"], s["code"]) for s in drawn["schools"]] == [(1, "A"), (3, "C")]
    for point in (drawn["home"], *drawn["schools"]):
        assert 0 <= point["x"] <= WIDTH and 0 <= point["y"] <= HEIGHT
    a = drawn["schools"][0]
    assert a["x"] > drawn["home"]["x"] and a["y"] < drawn["home"]["y"]  # north-east of home
    assert school_map({**found, "point": None}) is None


def test_the_map_leaves_out_far_schools_and_says_how_many() -> None:
    near = [school(f"N{i}", 21.0 + i * 0.001, 105.8, "W1") for i in range(1, 5)]
    far = [school("FAR", 21.2, 105.8)]
    found = {
        "point": {"lat": 21.0, "lon": 105.8},
        "schools": ranked((21.0, 105.8), "W1", near + far),
    }
    drawn = school_map(found)
    assert drawn is not None
    assert [s["code"] for s in drawn["schools"]] == ["N1", "N2", "N3", "N4"]
    assert drawn["left_out"] == 1
