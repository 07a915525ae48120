//! Every rule kind and scoring mechanism on small models.
