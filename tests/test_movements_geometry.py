import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retail_intel.errors import InputError
from retail_intel.movements.geometry import CountingLine, Polygon, parse_line, parse_points, parse_rect


def test_rect_contains_inside_and_not_outside() -> None:
    roi = parse_rect("100,100,500,400")
    x = np.array([150.0, 99.0, 300.0, 501.0, 300.0])
    y = np.array([150.0, 150.0, 399.0, 200.0, 401.0])
    assert roi.contains(x, y).tolist() == [True, False, True, False, False]


def test_concave_polygon() -> None:
    # an L shape: the notch at the top right is outside
    shape = Polygon(((0, 0), (10, 0), (10, 5), (5, 5), (5, 10), (0, 10)))
    x = np.array([2.0, 8.0, 8.0, 2.0])
    y = np.array([2.0, 2.0, 8.0, 8.0])
    assert shape.contains(x, y).tolist() == [True, True, False, True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("500,100,100,400", "x1 < x2"),
        ("100,100,100,400", "x1 < x2"),
        ("1,2,3", "4 numbers"),
        ("a,b,c,d", "numbers"),
    ],
)
def test_bad_rect_is_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_rect(text)


def test_parsers_name_the_text_as_the_caller_does() -> None:
    # parse_rect said "--roi expects ...", parse_line "--line ..." to a caller who passed no flag
    with pytest.raises(InputError, match=r"^roi expects 4 numbers x1,y1,x2,y2, got 3 in '1,2,3'"):
        parse_rect("1,2,3")
    with pytest.raises(InputError, match=r"^--roi expects x1,y1,x2,y2 numbers, got 'a,b,c,d'"):
        parse_rect("a,b,c,d", "--roi")
    with pytest.raises(InputError, match=r"^line expects two points 'x1,y1 x2,y2\[:left\|right\]', got '1,1'"):
        parse_line("1,1")
    with pytest.raises(InputError, match=r"^line expects points as 'x,y x,y \.\.\.', got '1' in '1 2,2'"):
        parse_line("1 2,2")
    with pytest.raises(InputError, match=r"^zone expects points as"):
        parse_points("1;2,2")


def test_zone_needs_three_points_and_area() -> None:
    with pytest.raises(InputError, match="at least 3 points"):
        Polygon(parse_points("1,1 5,5"))
    with pytest.raises(InputError, match="positive area"):
        Polygon(parse_points("0,0 5,5 10,10"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_region_with_a_corner_not_finite_is_refused(bad: float) -> None:
    # a NaN area passed the positive-area test; the staff: block built such polygons
    with pytest.raises(InputError, match="must be finite numbers"):
        Polygon(((0.0, 0.0), (bad, 0.0), (0.0, 10.0)))


def test_roi_outside_frame_is_refused() -> None:
    with pytest.raises(InputError, match="outside the 768x576 frame"):
        parse_rect("100,100,800,400").check_inside_frame(768, 576)
    parse_rect("0,0,768,576").check_inside_frame(768, 576)


def test_line_sides() -> None:
    # a horizontal line walked left to right; in y-down images "left" is up (smaller y)
    line = CountingLine((0.0, 100.0), (200.0, 100.0), "left")
    d = line.signed_distance(np.array([50.0, 50.0]), np.array([80.0, 130.0]))
    assert d[0] == pytest.approx(20.0)
    assert d[1] == pytest.approx(-30.0)
    right = parse_line("0,100 200,100:right")
    assert right.signed_distance(np.array([50.0]), np.array([80.0]))[0] == pytest.approx(-20.0)


@given(
    st.floats(0, 500),
    st.floats(0, 500),
    st.floats(1, 300),
    st.floats(1, 300),
    st.floats(-100, 900),
    st.floats(-100, 900),
)
def test_rect_polygon_agrees_with_bounds_check(x1: float, y1: float, w: float, h: float, px: float, py: float) -> None:
    roi = Polygon.from_rect(x1, y1, x1 + w, y1 + h)
    inside = bool(roi.contains(np.array([px]), np.array([py]))[0])
    strictly_in = x1 < px < x1 + w and y1 < py < y1 + h
    strictly_out = px < x1 or px > x1 + w or py < y1 or py > y1 + h
    if strictly_in:
        assert inside
    if strictly_out:
        assert not inside
