"""Debugging tools: weight dump/diff (``weights``), NNIE/Caffe dump comparison (``dumps``)."""
