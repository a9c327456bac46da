"""Human hand -> robot hand joint positions (ROS-free), through ``dex-retargeting``'s optimisers.

- ``robot_hands``: the robot hands shipped as URDFs in the ``dexi-rs`` wheel, their licences, our configs.
- ``config``: our retargeting config (YAML): which human joints map to which robot links, scaling, filter.
- ``hand_frame``: the wrist-centred hand frame in which human and robot vectors are compared.
- ``solver``: one robot hand's model and optimiser (``dex-retargeting`` + pinocchio), failures reported;
  ``vector_objective``: the vector method's cost and gradient in NumPy + pinocchio.
- ``retargeter``: one retargeter per followed hand (track): warm start, low-pass, reset on track loss.
- ``sequence``: a whole recording of one hand at once (the exporters' action feature).
- ``mounting``: the robot hand's place on the node's wrist TF frame (robot_state_publisher + RViz).

``dex_retargeting`` imports torch: this package imports it only when a solver is built.
"""
