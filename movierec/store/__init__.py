"""The model store: version layout and atomic publish, catalogues, id vocabularies, arrays."""
