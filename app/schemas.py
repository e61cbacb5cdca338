"""Request and response bodies (pydantic). "models" in this project means PyTorch models only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from app.index.data_distance import Placement
from app.services.arithmetic import MAX_WEIGHT
from app.services.neighbors import METRICS
from app.services.paths import MAX_STEPS, METHODS, MIN_STEPS
from app.services.refs import LATENT_LIMIT, MAX_COORDINATE, MAX_K
from app.services.selection import MAX_SELECTION
from app.services.traversal import MAX_RADIUS, MAX_TRAVERSE_STEPS, MIN_TRAVERSE_STEPS
from models.base import MIN_MAPPED_DIM
from models.embeddings import MAX_EMBEDDING_DIM

# The widest latent of any entry: imported embeddings (trained models stop at
# models.base.MAX_LATENT_DIM); a latent of the wrong length for its model is refused later.
MAX_LATENT = MAX_EMBEDDING_DIM

Latent = list[float]


def _json_integer(value: Any) -> Any:
    """An item id must be a JSON number: ``true`` or ``"3"`` would otherwise be read as item
    1 or 3. A number with no fraction (``3.0``) is an integer to JSON Schema, and stays one."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("an item id is a JSON integer, not true/false or text")
    return value


ItemId = Annotated[int, BeforeValidator(_json_integer)]
# An optional id's bound goes on the integer, before the validator: ``Field(None, ge=0)`` on
# ``ItemId | None`` (or the bound after the validator) validates, but writes a non-standard
# ``"ge": 0`` into the document instead of ``minimum``, and clients then send -1.
OptionalItemId = Annotated[int, Field(ge=0), BeforeValidator(_json_integer)] | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def exactly_one_of(*fields: str) -> list[JsonValue]:
    """The OpenAPI ``oneOf`` for a body that takes exactly one of ``fields``: one branch per
    field, which must be there and not null while the others are absent or null (the server
    reads a null as absent). Only the document says so: the check itself stays in the
    services, with its own error code (``bad_reference``, ``bad_term``, ``bad_arithmetic``)."""
    branches: list[JsonValue] = [
        {
            "required": [field],
            "properties": {
                other: {"not": {"type": "null"}} if other == field else {"type": "null"}
                for other in fields
            },
        }
        for field in fields
    ]
    return branches


# Static bounds shown in the document; the services check them with their own error codes.
LATENT_ITEMS: JsonDict = {"type": "number", "minimum": -LATENT_LIMIT, "maximum": LATENT_LIMIT}
COORDINATE: JsonDict = {"type": "number", "minimum": -MAX_COORDINATE, "maximum": MAX_COORDINATE}
PER_MODEL_LATENT = (
    "exactly the model's `latent_dim` values (GET /api/models/{model}), each within "
    f"+-{LATENT_LIMIT:g}"
)
PER_MODEL_PROJECTION = (
    "one of the model's `projections` (GET /api/models/{model}; e.g. `pca`, `umap`)"
)
PER_MODEL_ITEM = "a dataset item id: 0 to the model's `n_items` - 1 (GET /api/models/{model})"
REF_ONE_OF = exactly_one_of("id", "latent", "point")


class RefIn(Strict):
    """A place in latent space: give exactly one of ``id``, ``latent`` or ``point``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": REF_ONE_OF})

    id: OptionalItemId = Field(None, description=PER_MODEL_ITEM, examples=[7])
    latent: Latent | None = Field(
        None,
        max_length=MAX_LATENT,
        description=f"a latent vector: {PER_MODEL_LATENT}",
        # In the document only: a latent too short keeps its own code, wrong_latent_size.
        json_schema_extra={"items": LATENT_ITEMS, "minItems": MIN_MAPPED_DIM},
    )
    point: tuple[float, float] | None = Field(
        None,
        description="2D point [x, y] on a projection; decoded through the index's inverse map",
        json_schema_extra={"items": COORDINATE},  # both coordinates: one bound
    )
    projection: str | None = Field(
        None,
        max_length=32,
        description=f"projection of `point`: {PER_MODEL_PROJECTION}; default: the model's "
        "`default_projection`",
        examples=["umap"],
    )


class NeighboursOut(BaseModel):
    ids: list[int]
    distances: list[float]
    metric: str
    exact: bool = Field(
        True,
        description="false when the collection is past ann_min_items and an approximate index "
        "(recall@10 calibrated to >= 0.97) answered",
    )


ImageSource = Literal["decoded", "fitted_decoder", "nearest"]
IMAGE_SOURCE = (
    "`decoded`: the model decoded the latent; `fitted_decoder`: a decoder fitted afterwards "
    "to the model's latents (`latent-explorer fit-decoder`) decoded it; `nearest` (a model "
    "without a decoder): the stored image of the dataset item nearest the latent"
)


class DataDistanceOut(BaseModel):
    """How far a decoded latent is from the data: is its image an extrapolation?"""

    distance: float = Field(description="euclidean distance to the nearest item's latent")
    percentile: float = Field(
        description="share of items (in %) at most this far from their own nearest other item"
    )
    placement: Placement = Field(
        description="`inside the data`: up to the items' 95th percentile; `far from any item`: "
        "farther than any item is from its nearest other item; else `between clusters`"
    )
    map_distance: float | None = Field(
        None,
        description="a map point only (decode of `point`): the distance on the map to the "
        "nearest item's position; null otherwise",
    )
    map_percentile: float | None = Field(
        None,
        description="a map point only: the share of items (in %) at most this far from their "
        "nearest other item on the map (the page says `away from the map's points` from 99: "
        "the latent there is a blend of the nearest items')",
    )


DATA_DISTANCE = "how far the latent is from the data; null for a model of one item"


class PlacedOut(BaseModel):
    latent: Latent
    positions: dict[str, tuple[float, float]] = Field(
        description="the latent's place on each projection"
    )
    image: str | None = Field(
        description="PNG data URL: the decoded image, or without a decoder the nearest item's "
        "(see image_source); null when that item has no image (embeddings without images)"
    )
    neighbours: NeighboursOut | None = None
    image_source: ImageSource = Field("decoded", description=IMAGE_SOURCE)
    nearest_id: int | None = Field(
        None, description="with image_source `nearest`: the dataset item shown"
    )
    nearest_name: str | None = Field(None, description="that item's name")
    data_distance: DataDistanceOut | None = Field(None, description=DATA_DISTANCE)


class EncodedOut(PlacedOut):
    reconstruction_error: float | None = Field(
        description="mean squared error of the reconstruction; null without a decoder"
    )
    error_percentile: float | None = Field(
        description="share of dataset items (in %) reconstructed at least as well: an anomaly "
        "score; null without a decoder"
    )
    knn_score: float | None = Field(
        None,
        description="anomaly detection: mean distance to the k nearest normal training latents "
        "(GET anomaly's kNN score); null unless the model was trained on normal classes only",
    )
    input: str = Field(description="the upload as the model sees it (resized), PNG data URL")
    filename: str | None = None


class EncodeOut(BaseModel):
    items: list[EncodedOut]


class HealthOut(BaseModel):
    status: Literal["ok", "starting"]
    device: str
    models: list[str]
    failed: dict[str, str] = Field(default_factory=dict)


class DenoisingOut(BaseModel):
    noise: str = Field(
        description="the corruption, KIND:LEVEL: a denoising model's own training noise, "
        "`gaussian:0.3` for every other decoding model"
    )
    psnr: float = Field(description="PSNR (dB) of the decoded corrupted images against the clean")
    input_psnr: float = Field(description="PSNR (dB) of the corrupted images themselves")


class QualityOut(BaseModel):
    """A model's quality figures, measured when its index was built (docs/objectives.md has
    every formula). A figure is null where it does not apply: no decoder, no labels, no
    images, no encoder, not the shapes dataset."""

    n_items: int
    reconstruction_mse: float | None = Field(
        None, description="mean squared reconstruction error per pixel (pixels in [0, 1])"
    )
    reconstruction_mse_p95: float | None = Field(
        None, description="95th percentile of the items' reconstruction errors"
    )
    reconstruction_psnr: float | None = Field(
        None, description="10 log10(1 / reconstruction_mse), in dB"
    )
    knn_accuracy: float | None = Field(
        None, description="k-NN (k=5) label accuracy, 5-fold cross-validated over all items"
    )
    knn_accuracy_pixels: float | None = Field(
        None, description="the same on raw pixels, for reference"
    )
    split: str | None = Field(
        None,
        description="where the split figures are scored: `held-out` (fitted on the items the "
        "encoder trained on, scored on those it never saw) or `all items, cross-validated` "
        "(models with no recorded split, such as imports)",
    )
    split_n_test: int | None = Field(None, description="how many items the split scores")
    split_knn_accuracy: float | None = Field(
        None, description="k-NN (k=5) label accuracy on the split"
    )
    probe_accuracy: float | None = Field(
        None, description="linear-probe (logistic regression) label accuracy on the split"
    )
    alignment: float | None = Field(
        None,
        description="mean squared distance of the L2-normalised latents of two augmented views "
        "of an image (0 to 4, lower: views agree); needs an encoder and images",
    )
    uniformity: float | None = Field(
        None,
        description="log of the mean of exp(-2 |u - v|^2) over pairs of L2-normalised latents "
        "(0: collapsed to a point; more negative: spread more evenly)",
    )
    latent_std_ratio: float | None = Field(
        None,
        description="smallest over largest per-dimension standard deviation of the latents "
        "(near 0: some dimensions collapsed)",
    )
    denoising: DenoisingOut | None = Field(None, description="with a decoder")
    factor_r2: dict[str, float] | None = Field(
        None, description="k-NN regression R^2 of each numeric metadata column, cross-validated"
    )
    shape_factor_r2: dict[str, float] | None = Field(
        None,
        description="shapes: k-NN regression R^2 on the split of x, y, scale and rotation (as "
        "sin and cos of the angle times the shape's symmetry order)",
    )
    shape_accuracy: float | None = Field(
        None, description="shapes: k-NN (k=5) shape accuracy on the split"
    )
    trustworthiness: dict[str, float] = Field(
        default_factory=dict, description="per projection: how well the map keeps neighbours"
    )
    faithfulness: dict[str, float] | None = Field(
        None, description="per projection: mean share of 10 latent neighbours kept on the map"
    )


class FittedHeldoutOut(BaseModel):
    items: int = Field(description="held-out items the figures are measured on")
    source: str = Field(
        description="which items: the model's recorded training.holdout_ids, or a seeded share"
    )
    mse: float = Field(description="mean per-pixel squared error of the reconstructions")
    psnr: float = Field(
        description="10 log10(1 / mse), dB: how much of the image the latent retains"
    )
    mean_image_mse: float = Field(description="the same error for the training items' mean image")
    mean_image_psnr: float = Field(
        description="its PSNR, dB: what a latent that kept nothing scores"
    )


class FittedDecoderOut(BaseModel):
    heldout: FittedHeldoutOut
    epochs_run: int | None
    seed: int | None


class ModelOut(BaseModel):
    name: str
    architecture: str
    dataset: dict[str, Any]
    latent_dim: int
    image_shape: tuple[int, int, int]
    n_items: int
    quality: QualityOut
    projections: list[str]
    default_projection: str = Field(description="the projection the page shows first")
    label_field: str | None
    label_names: list[str]
    metadata_fields: dict[str, Literal["category", "number"]]
    latent_std: list[float] = Field(description="per-dimension standard deviation of the latents")
    can_encode: bool = Field(description="images can be uploaded and encoded")
    can_decode: bool = Field(
        description="latents can be decoded; without a decoder the explorer answers clicks, "
        "drags and paths with the nearest real images"
    )
    decoder_source: Literal["own", "fitted", "none"] = Field(
        description="where decoded images come from: the model's `own` decoder, one `fitted` "
        "to its latents afterwards (`latent-explorer fit-decoder`), or `none`"
    )
    fitted_decoder: FittedDecoderOut | None = Field(
        description="the fitted decoder's figures; null unless decoder_source is `fitted`"
    )
    has_images: bool = Field(description="the items have images (thumbnails, nearest images)")
    normal_classes: list[str] | None = Field(
        None,
        description="anomaly detection: the classes a model trained on its normal classes only "
        "was trained on (GET anomaly); null for a model trained on every class",
    )


class ModelsOut(BaseModel):
    models: list[ModelOut]


class ItemOut(BaseModel):
    id: int
    name: str
    label_field: str | None
    label: str | None = Field(description="the item's class name, when the dataset has labels")
    reconstruction_error: float | None = Field(
        description="the item's reconstruction MSE; null when the model has no decoder"
    )
    metadata: dict[str, str | float | None] = Field(
        description="the item's metadata; null for a missing number (a gap in a metadata.csv)"
    )
    positions: dict[str, tuple[float, float]] = Field(description="the item on each projection")


class NamesOut(BaseModel):
    count: int
    names: list[str] = Field(description="every item's name; item ids are the positions")


class ThumbnailsOut(BaseModel):
    model: str
    ids: list[int] = Field(description="the item ids asked for, in the order asked")
    images: list[str] = Field(
        description="each item's stored image as a PNG data URL (`data:image/png;base64,...`)"
    )


class DecodeIn(RefIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"point": [1.5, -0.3], "projection": "umap"}, {"latent": [0.0] * 8}],
            "oneOf": REF_ONE_OF,
        },
    )


class InterpolateIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"start": {"id": 0}, "end": {"id": 1}, "steps": 8, "method": "slerp"}]
        },
    )
    start: RefIn
    end: RefIn
    steps: int = Field(
        8,
        description=f"{MIN_STEPS} to {MAX_STEPS} frames, endpoints included",
        json_schema_extra={"minimum": MIN_STEPS, "maximum": MAX_STEPS},
    )
    method: str = Field(
        "slerp", description="lerp or slerp", json_schema_extra={"enum": list(METHODS)}
    )
    projection: str | None = Field(
        None, max_length=32, description=f"where to draw the path: {PER_MODEL_PROJECTION}"
    )


class InterpolateOut(BaseModel):
    method: str
    projection: str
    latents: list[Latent]
    positions: list[tuple[float, float]]
    images: list[str | None] = Field(
        description="PNG data URLs, one per step: decoded, or the nearest items' (see "
        "image_source); null for an item without an image"
    )
    image_source: ImageSource = Field("decoded", description=IMAGE_SOURCE)
    nearest_ids: list[int] | None = Field(
        None, description="with image_source `nearest`: the item shown at each step"
    )
    nearest_names: list[str] | None = Field(None, description="those items' names")
    data_distances: list[DataDistanceOut] | None = Field(
        None, description=f"one per step: {DATA_DISTANCE}"
    )


class AttributeOut(BaseModel):
    id: str
    name: str
    kind: Literal["value", "pair", "factor", "custom"]
    field: str | None
    vector: Latent
    effect_size: float = Field(description="Cohen's d of the two groups along the vector")
    n_a: int
    n_b: int


class AttributesOut(BaseModel):
    attributes: list[AttributeOut]


class AttributeIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "thick strokes", "group_a": [1, 2, 3], "group_b": [4, 5]}]
        },
    )
    name: str = Field("", max_length=100)
    group_a: list[ItemId] = Field(
        max_length=1_000_000,
        description=f"at least one item; each {PER_MODEL_ITEM}",
        json_schema_extra={"minItems": 1, "items": {"type": "integer", "minimum": 0}},
    )
    group_b: list[ItemId] = Field(
        max_length=1_000_000,
        description=f"at least one item; each {PER_MODEL_ITEM}",
        json_schema_extra={"minItems": 1, "items": {"type": "integer", "minimum": 0}},
    )


class TermIn(Strict):
    """One term of a sum: exactly one of ``attribute`` or ``vector``, times ``weight``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"oneOf": exactly_one_of("attribute", "vector")}
    )

    attribute: str | None = Field(
        None,
        max_length=200,
        description="an attribute id of the model (GET /api/models/{model}/attributes)",
    )
    vector: Latent | None = Field(
        None,
        max_length=MAX_LATENT,
        description=f"a direction: {PER_MODEL_LATENT}",
        # In the document only: a latent too short keeps its own code, wrong_latent_size.
        json_schema_extra={"items": LATENT_ITEMS, "minItems": MIN_MAPPED_DIM},
    )
    weight: float = Field(
        1.0,
        description=f"within +-{MAX_WEIGHT:g}",
        json_schema_extra={"minimum": -MAX_WEIGHT, "maximum": MAX_WEIGHT},
    )


class AnalogyIn(Strict):
    a: RefIn
    b: RefIn
    c: RefIn


class ArithmeticIn(Strict):
    """Either ``start`` + ``terms`` or an ``analogy`` (a - b + c)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"start": {"id": 3}, "terms": [{"attribute": "digit:8-3", "weight": 1.0}], "k": 5},
                {"analogy": {"a": {"id": 1}, "b": {"id": 2}, "c": {"id": 3}}},
            ],
            "oneOf": exactly_one_of("start", "analogy"),
        },
    )
    start: RefIn | None = None
    terms: list[TermIn] = Field(default_factory=list, max_length=64)
    analogy: AnalogyIn | None = None
    k: int = Field(
        8,
        description=f"neighbours to return, 0 to {MAX_K} (and at most the model's `n_items`)",
        json_schema_extra={"minimum": 0, "maximum": MAX_K},
    )
    metric: str = Field(
        "euclidean",
        description="euclidean or cosine",
        json_schema_extra={"enum": list(METRICS)},
    )


class NeighboursIn(RefIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id": 5, "k": 10, "metric": "euclidean"}],
            "oneOf": REF_ONE_OF,
        },
    )
    k: int = Field(
        10,
        description=f"1 to {MAX_K} (and below the model's `n_items`)",
        json_schema_extra={"minimum": 1, "maximum": MAX_K},
    )
    metric: str = Field(
        "euclidean",
        description="euclidean or cosine",
        json_schema_extra={"enum": list(METRICS)},
    )


class TraverseIn(Strict):
    """A grid around ``start``: one row per latent dimension, or per listed attribute."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"start": {"id": 0}, "steps": 7, "radius": 3.0},
                {"start": {"id": 0}, "attributes": ["digit:1-7"]},
            ]
        },
    )
    start: RefIn
    attributes: list[str] | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="attribute ids of the model (GET /api/models/{model}/attributes); "
        "default: every dimension",
    )
    steps: int = Field(
        7,
        description=f"images per row, {MIN_TRAVERSE_STEPS} to {MAX_TRAVERSE_STEPS}",
        json_schema_extra={"minimum": MIN_TRAVERSE_STEPS, "maximum": MAX_TRAVERSE_STEPS},
    )
    radius: float = Field(
        3.0,
        description=f"reach in standard deviations, above 0 and up to {MAX_RADIUS:g}",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_RADIUS},
    )


class TraverseRowOut(BaseModel):
    label: str
    offsets: list[float]
    images: list[str] = Field(description="PNG data URLs")
    data_distances: list[DataDistanceOut] | None = Field(
        None, description=f"one per image: {DATA_DISTANCE}"
    )


class TraverseOut(BaseModel):
    rows: list[TraverseRowOut]


class ErrorDetail(Strict):
    status: int = Field(description="the HTTP status code, repeated", examples=[422])
    code: str = Field(
        description="a stable snake_case name of what went wrong, for clients to branch on",
        examples=["wrong_latent_size"],
    )
    message: str = Field(
        description="what was wrong and what is allowed, for people",
        examples=["latent has 3 values but model 'digits-vae-8' has a latent size of 8"],
    )


class ErrorOut(Strict):
    """The one shape of every error the API returns (app/errors.py makes it)."""

    error: ErrorDetail


class OutlierOut(BaseModel):
    id: int
    name: str
    error: float = Field(description="the item's reconstruction MSE")
    label: str | None = Field(description="the item's class name, when the dataset has labels")
    percentile: float = Field(
        description="share of items (in %) reconstructed at least as well (100: the worst)"
    )


class OutliersOut(BaseModel):
    model: str
    count: int = Field(description="how many items the model has")
    outliers: list[OutlierOut] = Field(description="largest reconstruction error first")


class FigureOut(BaseModel):
    key: str = Field(description="the quality figure, e.g. `trustworthiness.umap`")
    label: str
    a: float | None = Field(description="model a's figure; null where it has none")
    b: float | None = Field(description="model b's figure; null where it has none")
    better: Literal["higher", "lower"]


class CompareOut(BaseModel):
    a: str
    b: str
    n_items: int
    aligned: bool = Field(
        description="the two models index the same items in the same order (item ids match); "
        "always true here, since models that do not are a 409 `not_comparable`"
    )
    figures: list[FigureOut]


class TableRowOut(BaseModel):
    key: str = Field(description="the quality figure, e.g. `trustworthiness.umap`")
    label: str
    values: list[float | None] = Field(
        description="each model's figure, in the order of `models`; null where it has none"
    )
    better: Literal["higher", "lower"]


class CompareTableOut(BaseModel):
    models: list[str] = Field(description="the models, in the order asked")
    n_items: int
    figures: list[TableRowOut]


class AlignmentOut(BaseModel):
    reference: str
    model: str
    projection: str
    n_items: int
    scale: float = Field(
        description="the uniform scale applied to the model's map: it gives the map the "
        "reference's spread (root mean square distance of the items from their centre)"
    )
    rotation: tuple[tuple[float, float], tuple[float, float]] = Field(
        description="the 2x2 orthogonal matrix R (row vectors: aligned = scale * xy @ R + "
        "translation); a reflection when its determinant is -1"
    )
    translation: tuple[float, float]
    reflected: bool = Field(description="the map had to be mirrored as well as turned")
    rms: float = Field(
        description="root mean square distance left between each item's aligned position and "
        "its position on the reference map, in the reference map's units"
    )
    disparity: float = Field(
        description="scipy.spatial.procrustes' disparity: the least-squares residual of the "
        "two maps each centred and scaled to unit size; 0 when they agree up to turning, "
        "mirroring, moving and scaling, near 1 for unrelated maps"
    )
    x: list[float] = Field(description="every item's aligned x, in id order")
    y: list[float] = Field(description="every item's aligned y, in id order")


class ChangedItemOut(BaseModel):
    id: int
    change: float


class NeighbourhoodChangeOut(BaseModel):
    reference: str
    model: str
    k: int = Field(description="latent neighbours compared per item")
    n_items: int
    mean: float = Field(description="the mean change over every item")
    change: list[float] = Field(
        description="per item, in id order: the share of its k nearest latent neighbours in "
        "the reference model that are not among its k nearest in this model (0: the same "
        "neighbourhood, 1: an entirely new one)"
    )
    most_changed: list[ChangedItemOut] = Field(
        description="the `top` items whose neighbourhoods changed most, most first (ties by id)"
    )


class ComparableOut(BaseModel):
    model: str
    comparable: list[str] = Field(
        description="other loaded models on the same items, in load order: each can be "
        "compared with this one (`GET /api/compare`)"
    )


class DiagramOut(BaseModel):
    h0: list[tuple[float | None, float | None]] = Field(
        description="H0 bars as (birth, death), by death (birth is always a number, 0); death "
        "null for the component that never dies. A death is the distance at which two groups "
        "of latents join (single linkage)"
    )
    h1: list[tuple[float, float]] = Field(
        description="H1 bars as (birth, death), longest first: loops, born when a ring of "
        "latents closes and dead when it is filled in"
    )


class ClassTopologyOut(DiagramOut):
    label: str
    n_items: int


class TopologyOut(DiagramOut):
    model: str
    n_items: int
    n_landmarks: int = Field(description="the latents the diagrams are computed on")
    landmark_ids: list[int] = Field(description="their item ids, in sampling order")
    cover_radius: float = Field(
        description="the largest distance from any latent to its nearest landmark: features "
        "shorter than about this are below the subsample's resolution"
    )
    n_classes: int = Field(description="how many labels the dataset has (0 without labels)")
    classes: list[ClassTopologyOut] = Field(
        description="each class's own diagrams (on at most 500 landmarks of that class); "
        "empty without labels or past 50 labels"
    )
    seconds: float = Field(description="how long the computation took, in the analysis process")


class TopologyGroupsOut(BaseModel):
    model: str
    bar: int
    scale: float = Field(description="the H0 bar's death: the distance at which the groups join")
    groups: tuple[list[int], list[int]] = Field(
        description="the item ids of the two groups that join there; an item outside the "
        "landmarks belongs to its nearest landmark's group"
    )


class TopologyLoopOut(BaseModel):
    model: str
    bar: int
    ids: list[int] = Field(
        description="the landmarks on the edges of the bar's representative cocycle: where "
        "the loop is, approximately (a cocycle cuts the loop rather than traces it)"
    )


class TopologyDistanceOut(BaseModel):
    a: str
    b: str
    h0: dict[str, float] = Field(
        description="`bottleneck` and `wasserstein` between the H0 diagrams, on the 200 longest "
        "finite bars of each; `bottleneck_error` bounds what the bars left out could change "
        "the bottleneck figure by (half the longest bar left out of each diagram, summed)"
    )
    h1: dict[str, float] = Field(description="the same for the H1 diagrams")


class SearchOut(BaseModel):
    model: str
    query: str
    count: int = Field(description="how many items match")
    total: int = Field(description="how many items the model has")
    ids: list[int] = Field(description="the matching ids, ascending: the first `limit` of them")
    truncated: bool = Field(description="true when `count` is more than the ids listed")
    bitmap: str | None = Field(
        description="with `bitmap=true`, every match: base64 of ceil(total / 8) bytes, item i "
        "being bit i % 8 (least significant first) of byte i // 8; else null"
    )


class SelectionIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ids": [1, 2, 3]}]})
    ids: list[ItemId] = Field(
        max_length=MAX_SELECTION,
        description=f"the selected items, at least one and at most {MAX_SELECTION:,}; each "
        f"{PER_MODEL_ITEM}; repeats count once",
        json_schema_extra={"minItems": 1, "items": {"type": "integer", "minimum": 0}},
    )
    projection: str | None = Field(
        None,
        max_length=32,
        description=f"whose faithfulness to summarise: {PER_MODEL_PROJECTION}; default: the "
        "model's `default_projection`",
    )


class LabelCountOut(BaseModel):
    label: str
    count: int = Field(description="selected items with this label")
    share: float = Field(description="count / the selection's size")
    total: int = Field(description="items with this label in the whole set")
    total_share: float = Field(description="total / the whole set's size")


class DistributionOut(BaseModel):
    edges: list[float] = Field(description="21 bin edges spanning the whole set's values")
    counts: list[int] = Field(description="the selection's items in each of the 20 bins")
    total_counts: list[int] = Field(description="the whole set's items in each bin")
    levels: list[float] = Field(description="quantile levels: 0.05, 0.25, 0.5, 0.75, 0.95")
    quantiles: list[float] | None = Field(description="the selection's values at the levels")
    total_quantiles: list[float] | None = Field(description="the whole set's")
    mean: float | None
    total_mean: float | None


class MedoidOut(BaseModel):
    id: int
    name: str
    exact: bool = Field(
        description="false past 2,000 selected items: the medoid of a seeded sample of 2,000"
    )
    sample_size: int = Field(description="how many items it was chosen among")


class TopValueOut(BaseModel):
    value: str
    count: int = Field(description="selected items with this value")


class FieldSummaryOut(BaseModel):
    field: str
    kind: Literal["number", "text"]
    mean: float | None = Field(None, description="numbers: the selection's mean")
    min: float | None = None
    max: float | None = None
    total_mean: float | None = Field(None, description="numbers: the whole set's mean")
    top: list[TopValueOut] = Field(
        default_factory=list,
        description="text: the 5 commonest values, most common first (ties by value)",
    )
    n_distinct: int | None = Field(None, description="text: distinct values selected")


class SelectionStatsOut(BaseModel):
    model: str
    projection: str
    count: int = Field(description="distinct items selected")
    n_items: int = Field(description="items in the whole set")
    labels: list[LabelCountOut] | None = Field(description="null when the items have no labels")
    mean_latent: list[float]
    average_member: str | None = Field(
        description="the mean latent decoded, as a PNG data URL; null without a decoder"
    )
    medoid: MedoidOut = Field(
        description="the selected item with the least summed Euclidean latent distance to the "
        "others (its image: GET .../items/{id}/thumbnail)"
    )
    reconstruction_error: DistributionOut | None = Field(
        description="null when the model has no reconstruction errors (no decoder)"
    )
    faithfulness: DistributionOut | None = Field(
        description="of `projection`; null when it has none (under 11 items)"
    )
    metadata: list[FieldSummaryOut]
    notes: list[str] = Field(description="what is missing or approximate, and why")


class AnomalyGroupOut(BaseModel):
    name: str = Field(description="`normal (trained on)`, `normal (held out)` or `anomalous`")
    n_items: int
    counts: list[int] = Field(description="items per histogram bin (bins: `edges`)")


class RocOut(BaseModel):
    fpr: list[float] = Field(description="share of held-out normal items flagged (>= threshold)")
    tpr: list[float] = Field(description="share of anomalous-class items flagged")
    thresholds: list[float] = Field(
        description="descending; the first is above every score, so nothing is flagged"
    )
    auc: float = Field(description="area under the curve (ties count half)")


class AnomalyOut(BaseModel):
    model: str
    score: Literal["reconstruction", "knn"]
    k: int | None = Field(description="the kNN score's neighbours; null for reconstruction")
    normal_classes: list[str] = Field(description="the classes the model was trained on")
    anomalous_classes: list[str] = Field(description="the classes it never saw")
    edges: list[float] = Field(description="histogram bin edges, shared by every group")
    groups: list[AnomalyGroupOut]
    roc: RocOut | None = Field(
        description="held-out normal items (negatives) against the anomalous classes' items "
        "(positives): training items' scores are optimistic, so they are left out; null when "
        "either side is empty"
    )
    scores: list[float] = Field(description="every item's score, in id order")
    item_groups: list[int] = Field(description="every item's index in `groups`, in id order")


# ---- the denoising demo (POST /api/denoise; app/services/denoise.py) ----------------------
class DenoiseImageOut(BaseModel):
    image: str = Field(description="PNG data URL; 8-bit pixels, as the PSNR was computed on")
    psnr: float = Field(description="dB against `clean` (pixels read in [0, 1]; at most 120)")


class DenoiseOut(BaseModel):
    dae: str = Field(description="the denoising autoencoder used")
    ae: str = Field(description="the plain autoencoder it is compared with")
    item: int | None = Field(description="the item corrupted; null for an upload")
    kind: str = Field(description="noise kind: gaussian, saltpepper or mask")
    level: float = Field(description="noise level, 0 to 1")
    seed: int = Field(description="the noise's seed: the same request draws the same noise")
    clean: str = Field(description="the clean image as the models see it, PNG data URL")
    corrupted: DenoiseImageOut
    dae_output: DenoiseImageOut = Field(description="the dae's output on the corrupted image")
    ae_output: DenoiseImageOut = Field(description="the plain AE's output on the corrupted image")
