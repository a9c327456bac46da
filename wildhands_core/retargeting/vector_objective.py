"""The vector-retargeting objective and its gradient in NumPy + pinocchio: the cost of
``dex_retargeting.optimizer.VectorOptimizer``'s objective (mean Huber loss, ``huber_delta``, of the
distances between the robot's link-to-link vectors and ``scaling`` x the human ones) with the gradient from
one pinocchio Jacobian pass. dex-retargeting computes the same per evaluation with torch autograd and one
pinocchio forward-kinematics pass per link; here an evaluation costs a fraction of that, which is what
brings a frame under the node's per-hand budget. One difference: the regulariser towards the previous
solution, ``norm_delta * |x - x_prev|^2``, is in both the value and the gradient (dex-retargeting adds it
to the gradient only), so that SLSQP sees a consistent function.

Units: metres for the vectors, the joint variables' own (rad, m) for ``x``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def vector_objective(optimizer, target_vectors: np.ndarray, fixed_q: np.ndarray, last_x: np.ndarray,
                     huber_delta: float, norm_delta: float) -> Callable[[np.ndarray, np.ndarray], float]:
    """nlopt objective ``f(x, grad)`` for a built ``VectorOptimizer`` (its robot, link indices, joint
    index maps and mimic-joint adaptor); ``target_vectors`` (n, 3) already scaled, in the robot root
    frame."""
    import pinocchio as pin

    robot = optimizer.robot
    model, data = robot.model, robot.data
    links = [int(i) for i in optimizer.computed_link_indices]
    origin = np.asarray(optimizer.origin_link_indices, dtype=np.int64)
    task = np.asarray(optimizer.task_link_indices, dtype=np.int64)
    target = np.asarray(target_vectors, dtype=np.float64)
    n = len(target)
    # vector k = incidence[k] @ link positions: +1 at its task link, -1 at its origin link; its transpose
    # maps d value / d vectors to d value / d link positions
    incidence = np.zeros((n, len(links)))
    incidence[np.arange(n), task] += 1.0
    incidence[np.arange(n), origin] -= 1.0
    incidence_t = incidence.T.copy()
    idx_target, adaptor = optimizer.idx_pin2target, optimizer.adaptor
    qpos = np.zeros(model.nq)
    qpos[optimizer.idx_pin2fixed] = fixed_q
    last = np.asarray(last_x, dtype=np.float64)
    frame = pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
    pos = np.empty((len(links), 3))
    jac = np.zeros((len(links), 3, model.nv))
    # links on the root body (the wrist, as a rule) neither move nor have a Jacobian: set once, skipped below
    moving = []
    for k, i in enumerate(links):
        if model.frames[i].parentJoint == 0:
            pos[k] = model.frames[i].placement.translation
        else:
            moving.append((k, i))
    half_delta = 0.5 * huber_delta
    inv_n = 1.0 / n

    def objective(x: np.ndarray, grad: np.ndarray) -> float:
        qpos[idx_target] = x
        q = adaptor.forward_qpos(qpos) if adaptor is not None else qpos
        if grad.size > 0:
            pin.computeJointJacobians(model, data, q)  # also the forward kinematics
        else:
            pin.forwardKinematics(model, data, q)
        for k, i in moving:
            pos[k] = pin.updateFramePlacement(model, data, i).translation
        err = incidence @ pos - target
        dist2 = np.einsum("ij,ij->i", err, err)
        dist = np.sqrt(dist2)
        small = dist < huber_delta
        dx = x - last
        huber = np.where(small, dist2 / (2.0 * huber_delta), dist - half_delta)
        value = float(huber.sum()) * inv_n + norm_delta * float(dx @ dx)
        if grad.size > 0:
            weight = np.where(small, inv_n / huber_delta, inv_n / np.maximum(dist, 1e-12))
            g_pos = incidence_t @ (weight[:, None] * err)  # (links, 3): d value / d link position
            for k, i in moving:
                jac[k] = pin.getFrameJacobian(model, data, i, frame)[:3]
            g_q = g_pos.reshape(-1) @ jac.reshape(-1, model.nv)
            g_x = adaptor.backward_jacobian(g_q[None])[0] if adaptor is not None else g_q[idx_target]
            grad[:] = g_x + 2.0 * norm_delta * dx
        return value

    return objective
