"""The one greedy non-maximum suppression (workers.tracking.greedy_nms) used by the face ranges,
the person detector and the pose estimators."""

import numpy as np

from workers.tracking import greedy_nms, overlap_of_smaller_matrix

BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [2, 2, 6, 6]], np.float32)
SCORES = np.array([0.6, 0.9, 0.5, 0.7], np.float32)


def test_the_best_of_each_overlapping_group_is_kept_best_first():
    # IoU(0, 1) = 81 / 119 = 0.68; box 3 lies inside both but is small: IoU 16/100, 16/100
    assert greedy_nms(BOXES, SCORES, 0.5) == [1, 3, 2]
    assert greedy_nms(BOXES, SCORES, 0.7) == [1, 3, 0, 2]


def test_another_overlap_measure_and_the_limit_is_exclusive():
    # overlap of the smaller box: box 3 lies wholly inside box 1 (1.0), boxes 0 and 1 share 0.81
    assert greedy_nms(BOXES, SCORES, 0.99, overlap_of_smaller_matrix) == [1, 0, 2]
    assert greedy_nms(BOXES, SCORES, 1.0, overlap_of_smaller_matrix) == [1, 3, 0, 2]


def test_ties_keep_input_order_and_nothing_in_nothing_out():
    assert greedy_nms(BOXES[:2], np.array([0.5, 0.5]), 0.5) == [0]
    assert greedy_nms(np.zeros((0, 4)), np.zeros(0), 0.5) == []
