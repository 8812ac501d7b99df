"""Data made by the app's own code: synthetic scenes, the lecture's labelled grid, folders of pairs."""
