"""modelport.names: the naming rule the MXNet frontend and the MXNet runner share."""
from modelport.names import unique_node_names


def test_first_keeps_its_name_later_ones_count_up():
    nodes = [("data", True), ("conv", False), ("relu", False), ("conv", False), ("relu", False), ("conv", False)]
    assert unique_node_names(nodes) == ["data", "conv", "relu", "conv__2", "relu__2", "conv__3"]


def test_unique_names_are_untouched():
    nodes = [("data", True), ("a", False), ("b", False)]
    assert unique_node_names(nodes) == ["data", "a", "b"]


def test_a_renaming_never_takes_a_real_name():
    # 'conv__2' exists later in the file: the second 'conv' skips to conv__3
    nodes = [("conv", False), ("conv", False), ("conv__2", False)]
    assert unique_node_names(nodes) == ["conv", "conv__3", "conv__2"]


def test_variables_keep_their_names_and_win_over_operators():
    # weights are found by name: a variable keeps it, an operator of the same name moves aside
    nodes = [("x", False), ("x", True), ("w", True), ("w", True)]
    assert unique_node_names(nodes) == ["x__2", "x", "w", "w"]
