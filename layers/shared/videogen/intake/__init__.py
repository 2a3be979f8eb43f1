"""The entry side: requests become jobs (API, S3 uploads), cancels, job views and listings. Never imports the
Runway SDK: Runway calls are handed to the pipeline's functions."""
