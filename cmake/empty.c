/* Placeholder so an empty layer still forms an object library. */
typedef int strata_empty_translation_unit;
