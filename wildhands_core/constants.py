"""Constants shared by the whole project: joint orders, MANO ids, grasp classes, image normalisation.

Joint order used everywhere in wildhands ("MANO21"): the 16 MANO joints in MANO's own kinematic order,
followed by the 5 fingertip vertices (thumb, index, middle, ring, pinky), as in the released WildHands
model. ``MANO21_TO_OPENPOSE`` re-orders a MANO21 array into the OpenPose / FreiHAND hand order.
"""

from __future__ import annotations

#: Names of the 16 MANO joints, in MANO's order (index = joint id in ``kintree_table``).
MANO_JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "index1",
    "index2",
    "index3",
    "middle1",
    "middle2",
    "middle3",
    "pinky1",
    "pinky2",
    "pinky3",
    "ring1",
    "ring2",
    "ring3",
    "thumb1",
    "thumb2",
    "thumb3",
)

#: Parent of each MANO joint (-1 for the root), MANO's kinematic tree.
MANO_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)

#: MANO vertex ids used as fingertips, in the order they are appended after the 16 joints.
FINGERTIP_VERTEX_IDS: dict[str, int] = {"thumb": 744, "index": 320, "middle": 443, "ring": 554, "pinky": 671}
FINGERTIP_NAMES: tuple[str, ...] = ("thumb_tip", "index_tip", "middle_tip", "ring_tip", "pinky_tip")

#: The project's 21-joint order: MANO's 16 joints then the 5 fingertips.
JOINT_NAMES: tuple[str, ...] = MANO_JOINT_NAMES + FINGERTIP_NAMES
NUM_JOINTS = 21
NUM_MANO_JOINTS = 16
#: Axis-angle values of MANO's hand pose: the 15 finger joints (all but the wrist) x 3.
NUM_HAND_POSE = (NUM_MANO_JOINTS - 1) * 3
#: Axis-angle values of a whole MANO pose: the global orientation (3) then the hand pose.
NUM_MANO_POSE = NUM_MANO_JOINTS * 3
NUM_BETAS = 10
NUM_MANO_VERTICES = 778
NUM_MANO_FACES = 1538

#: ``joints_openpose = joints_mano21[MANO21_TO_OPENPOSE]`` (OpenPose: wrist, then thumb, index, middle,
#: ring, pinky, each from the base to the tip).
MANO21_TO_OPENPOSE: tuple[int, ...] = (
    0,
    13,
    14,
    15,
    16,
    1,
    2,
    3,
    17,
    4,
    5,
    6,
    18,
    10,
    11,
    12,
    19,
    7,
    8,
    9,
    20,
)

#: ``joints_mano21 = joints_openpose[OPENPOSE_TO_MANO21]``: the inverse permutation of ``MANO21_TO_OPENPOSE``
#: (MediaPipe's hand landmarks use the OpenPose order too).
OPENPOSE_TO_MANO21: tuple[int, ...] = tuple(
    sorted(range(len(MANO21_TO_OPENPOSE)), key=MANO21_TO_OPENPOSE.__getitem__)
)

#: Bones of the 21-joint skeleton as (parent, child) pairs in MANO21 indices, for drawing.
SKELETON_EDGES: tuple[tuple[int, int], ...] = tuple(
    (MANO_PARENTS[j], j) for j in range(1, NUM_MANO_JOINTS)
) + ((15, 16), (3, 17), (6, 18), (12, 19), (9, 20))

#: The 8 grasp classes of Cheng et al. (NeurIPS 2023) in the released head's order, plus index 8 =
#: no grasp. The grasp head outputs 9 logits in exactly this order.
GRASP_CLASS_NAMES: tuple[str, ...] = (
    "NP-Palm",
    "NP-Fin",
    "Pow-Pris",
    "Pre-Pris",
    "Pow-Circ",
    "Pre-Circ",
    "Lateral",
    "Other",
    "no-grasp",
)
NUM_GRASP_CLASSES = 9

#: ImageNet normalisation applied to RGB images scaled to [0, 1].
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

#: Side of the network's square input images (whole image and hand crops), pixels.
INPUT_SIZE = 224
