"""The progress bar of a training loop, one tick per epoch (gd.fit's, factorize's, gdfast.nn's). tqdm is imported
only when a bar is asked for: a run with progress=False never imports it."""


def progress_bar(progress, epochs, desc="gdfast.fit"):
    """A tqdm bar counting ``epochs`` epochs, labelled ``desc``, removed from the terminal when closed, or None
    when ``progress`` is false; the caller ticks it with ``bar.update()`` and closes it with ``bar.close()``."""
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=epochs, unit="epoch", desc=desc, leave=False)
