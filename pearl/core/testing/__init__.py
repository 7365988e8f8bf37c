"""Test helpers shared by every app: the organisation and personas tests act as."""
