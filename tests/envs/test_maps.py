"""Map loader: legend, validation messages, shipped maps (SPEC 1.1)."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.envs import default_map_path, legend, load_map, make_env, parse_map
from trainers.envs.maps import compile_map

ROOM = "@@@@@\n@P P@\n@ A @\n@@@@@"


def test_parse_map_returns_rows_and_shape():
    m = parse_map("\n" + ROOM + "\n\n", "harvest", n_agents=2)
    assert m.rows == ("@@@@@", "@P P@", "@ A @", "@@@@@")
    assert m.shape == (4, 5)
    assert m.chars[2, 2] == "A"
    assert str(m) == ROOM


def test_ragged_rows_named_by_line_and_column():
    short = "@@@@@\n@P P@\n@ A@\n@@@@@"
    with pytest.raises(
        ValueError, match=r"<string> line 3, column 5: the row ends after 4 columns, but line 1 "
        r"has 5; every row must have the same width \(pad the row with walls '@'\)"
    ):
        parse_map(short, "harvest", n_agents=2)
    long = "@@@@@\n@P P@ \n@ A @\n@@@@@"
    with pytest.raises(
        ValueError, match=r"<string> line 2, column 6: extra character ' '; the row has 6 "
        r"columns, but line 1 has 5"
    ):
        parse_map(long, "harvest", n_agents=2)


def test_unknown_character_names_line_column_and_legend():
    text = "@@@@@\n@P P@\n@ AZ@\n@@@@@"
    with pytest.raises(ValueError, match=r"line 3, column 4: unknown character 'Z' \(legend"):
        parse_map(text, "harvest", n_agents=2)


def test_game_specific_characters_only_in_their_game():
    text = "@@@@@\n@P P@\n@ B @\n@@@@@"
    with pytest.raises(ValueError, match=r"line 3, column 3: unknown character 'B'"):
        parse_map(text, "harvest", n_agents=2)
    assert "B" in legend("cleanup") and "X" in legend("box_trapped")


def test_too_few_spawn_points_names_the_n_agents_field():
    with pytest.raises(
        ValueError, match=r"2 spawn points 'P' for 3 agents; add spawn points 'P' to the map, "
        r"or lower the config field n_agents to at most 2 \(e.g. HarvestConfig\(n_agents=2\)"
    ):
        parse_map(ROOM, "harvest", n_agents=3)
    with pytest.raises(ValueError, match=r"0 spawn points 'P' for 1 agents; add spawn points 'P' "
                       r"to the map$"):
        parse_map("@@@@@\n@   @\n@B R@\n@@@@@", "cleanup", n_agents=1)


def test_open_border():
    text = "@@@@@\n P P@\n@ A @\n@@@@@"
    with pytest.raises(ValueError, match=r"line 2, column 1: border cell is ' '"):
        parse_map(text, "harvest", n_agents=2)
    text = "@@@ @\n@P P@\n@ A @\n@@@@@"
    with pytest.raises(ValueError, match=r"line 1, column 4: border cell is ' '"):
        parse_map(text, "harvest", n_agents=2)


def test_empty_map():
    with pytest.raises(ValueError, match="the map is empty"):
        parse_map("\n\n", "harvest", n_agents=1)


def test_cleanup_needs_river():
    with pytest.raises(ValueError, match="needs river cells"):
        parse_map("@@@@@\n@P B@\n@@@@@", "cleanup", n_agents=1)


def test_box_must_be_closed():
    open_box = "@@@@@@@\n@XXX P@\n@XT  A@\n@XXX  @\n@@@@@@@"
    with pytest.raises(ValueError, match=r"line 2, column 6: spawn point 'P' can be reached"):
        parse_map(open_box, "box_trapped", n_agents=2)
    with pytest.raises(ValueError, match=r"at least 1 spawn point 'T'"):
        parse_map(ROOM, "box_trapped", n_agents=2)


def test_box_of_only_walls_is_refused():
    # closed by '@' alone: no 'X' to remove, so "opening" could never free the 'T' agent
    walled = "@@@@@@@@\n@@@@ P @\n@@T@ A @\n@@@@ P @\n@@@@@@@@"
    with pytest.raises(
        ValueError, match=r"<string> line 3, column 3: the box around spawn point 'T' has no "
        r"box wall 'X' \(it is closed by '@' only\), so it could never be opened; draw the walls "
        r"between the box and the outside as 'X'"
    ):
        parse_map(walled, "box_trapped", n_agents=2)


def test_box_whose_opening_frees_nobody_is_refused():
    # 'X' walls only towards a sealed pocket: opening leaves 'T' cut off from every 'P'
    pocket = "@@@@@@@@\n@T X @P@\n@@@@@@ @\n@@@@@@ @\n@@@@@@@@"
    with pytest.raises(
        ValueError, match=r"line 2, column 2: opening the box \(removing its 'X' walls\) would "
        r"not connect spawn point 'T' to any spawn point 'P' outside; use 'X', not '@'"
    ):
        parse_map(pocket, "box_trapped", n_agents=2)


def test_box_may_use_the_map_border():
    # the box's top and left are the map's border; only its inner sides are 'X'
    corner = "@@@@@@\n@TX P@\n@XX A@\n@   P@\n@@@@@@"
    lay = compile_map(parse_map(corner, "box_trapped", n_agents=2))
    assert lay.inside.sum() == 1 and lay.inside[1, 1]


def test_unknown_game():
    with pytest.raises(ValueError, match="unknown game 'chess'"):
        parse_map(ROOM, "chess", n_agents=1)


def test_load_map_file_named_in_errors(tmp_path):
    path = tmp_path / "map.txt"
    path.write_text("@@@@@\n@P P@\n@ AX@\n@@@@@\n")
    with pytest.raises(ValueError, match=r"map.txt line 3, column 4: unknown character 'X'"):
        load_map(path, "harvest", n_agents=2)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_map(tmp_path / "missing.txt", "harvest", n_agents=2)


def test_load_map_refuses_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "map.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(
        ValueError, match=r"^map.png: not a text map \(not UTF-8: byte 0x89 at offset 0\); give "
        r"a plain-text file drawn with the legend characters"
    ):
        load_map(path, "harvest", n_agents=2)


def test_load_map_ignores_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + ROOM.encode())
    assert load_map(path, "harvest", n_agents=2).rows[0] == "@@@@@"


@pytest.mark.parametrize(
    "game, n_agents, shape",
    [("cleanup", 5, (25, 18)), ("harvest", 5, (16, 38)), ("box_trapped", 2, (9, 9))],
)
def test_shipped_maps(game, n_agents, shape):
    m = load_map(default_map_path(game), game, n_agents)
    assert m.shape == shape
    env = make_env(game, n_envs=1)
    assert env.map.shape == shape


def test_cleanup_map_has_river_left_orchard_right():
    chars = load_map(default_map_path("cleanup"), "cleanup", 5).chars
    river_cols = np.nonzero(np.isin(chars, ["H", "R"]))[1]
    orchard_cols = np.nonzero(chars == "B")[1]
    assert river_cols.max() < orchard_cols.min()


def test_compile_map_layout():
    text = "@@@@@@@\n@XXX P@\n@XTX A@\n@XXX  @\n@@@@@@@"
    lay = compile_map(parse_map(text, "box_trapped", n_agents=2))
    assert lay.spawn.tolist() == [1 * 7 + 5]
    assert lay.trapped_spawn.tolist() == [2 * 7 + 2]
    assert lay.grow.tolist() == [2 * 7 + 5]
    assert lay.grow_index[2, 5] == 0 and lay.grow_index[1, 5] == -1
    assert lay.box.size == 8
    assert lay.inside[2, 2] and lay.inside.sum() == 1
    assert lay.box_adjacent[2, 4] and not lay.box_adjacent[2, 5] and lay.box_adjacent[2, 2]
