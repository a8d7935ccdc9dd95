"""The evaluate metric modules the project ships (one folder each, see README.md here), and what they share."""


def class_id_metric_info(description: str, arguments: str = ""):
    """The `evaluate.MetricInfo` of a metric over class-id predictions and references."""
    import datasets
    import evaluate

    return evaluate.MetricInfo(
        description=description,
        citation="",
        inputs_description="predictions, references: class ids" + (f"; {arguments}" if arguments else ""),
        features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
    )
